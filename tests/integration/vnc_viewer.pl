#!/usr/bin/perl
# A real third-party VNC viewer for the integration tests: Debian's Net::VNC
# (libnet-vnc-perl) logs in (VNC password or None) and captures one screenshot.
# Net::VNC only speaks IPv4 through IO::Socket::INET, so its socket is swapped
# for a byte-counting IO::Socket::IP: that adds IPv6 and lets the tests compare
# the proxy's bytes_in/bytes_out with what the viewer really sent and read.
#
# Output (stdout, one key=value per line): local_port, name_hex, width, height,
# captured, bytes_sent, bytes_received, [eof], then "result=ok". On any error:
# "error=<message>" on stdout and stderr, exit status 1, after received_hex=
# (the first 4 KiB the server sent, in hex); when the server gave a
# reason for refusing or failing the login, also reason_hex=<its bytes in hex>
# and the error ends with "(server reason: <text>)".
#
# --until-idle MS (with capture): after the first update keep requesting and
# applying updates until the server sent nothing for MS milliseconds; prints
# updates=<FramebufferUpdates applied> and last_update_s=<seconds from the
# first update to the last>. --probe X,Y (repeatable): prints
# pixel_X_Y=rrggbb of the framebuffer (after --until-idle).
# --run CMD (repeatable, with capture): after the above, on the same
# connection, runs CMD (sh -c; a failure is an error), then applies updates
# until the server sent nothing for --until-idle ms (default 1000); prints
# run_N_updates=<count> (N from 1), and fails if the server closed the
# connection meanwhile; --probe then shows the final framebuffer.
# --save FILE: at the end writes the framebuffer (as received, without the
# cursor) to FILE as binary PPM (P6); prints saved=FILE.
use strict;
use warnings;
use Getopt::Long;
use IO::Select;
use IO::Socket::IP;
use Time::HiRes ();
use Net::VNC;

package CountingSocket {
    our @ISA = ('IO::Socket::IP');
    our $sent = 0;
    our $received = 0;
    our $head = '';  # the first bytes received, for error reports
    sub keep {
        my ($data, $n) = @_;
        $head .= substr($data, -$n) if $n && length($head) < 4096;
    }
    sub read {
        my $self = shift;
        my $n = $self->SUPER::read(@_);
        $received += $n if $n;
        keep($_[0], $n);
        return $n;
    }
    sub sysread {
        my $self = shift;
        my $n = $self->SUPER::sysread(@_);
        $received += $n if $n;
        keep($_[0], $n);
        return $n;
    }
    sub print {
        my $self = shift;
        $sent += length(join('', @_));
        return $self->SUPER::print(@_);
    }
    sub write {
        my ($self, $buf, $len, $off) = @_;
        $len = length($buf) unless defined $len;
        $sent += $len;
        return $self->SUPER::write($buf, $len, $off // 0);
    }
}

package main;

# u32 length + text, as after an RFB refusal; undef on EOF, timeout or a
# length over 64 KiB (3.3/3.7 servers send no reason after a failed result).
sub read_reason {
    my ($sock) = @_;
    my $reason = eval {
        local $SIG{ALRM} = sub { die "timed out\n" };
        alarm 5;
        my $got = $sock->read(my $head, 4);
        die "no length\n" unless $got && $got == 4;
        my $length = unpack('N', $head);
        die "too long\n" if $length > 65536;
        my $text = '';
        if ($length) {
            $got = $sock->read($text, $length);
            die "short reason\n" unless $got && $got == $length;
        }
        alarm 0;
        $text;
    };
    alarm 0;
    return $reason;
}

$| = 1;
my %opt = (host => '127.0.0.1', timeout => 20, hold => 0, capture => 1, 'until-idle' => 0,
           probe => [], run => []);
GetOptions(\%opt, 'host=s', 'port=i', 'password=s', 'timeout=i', 'hold=f',
           'capture!', 'until-idle=i', 'probe=s@',
           'run=s@', 'save=s') or die "bad arguments\n";

# True when a byte from the server is waiting: in the socket's PerlIO buffer
# (Net::VNC reads through it, so select() alone would miss bytes read ahead)
# or, within $wait seconds, on the socket itself. False at EOF.
sub server_bytes_waiting {
    my ($sock, $wait) = @_;
    my $deadline = Time::HiRes::time() + $wait;
    while (1) {
        $sock->blocking(0);
        my $got = CORE::read($sock, my $byte, 1);
        $sock->clearerr;
        $sock->blocking(1);
        if ($got) {
            $sock->ungetc(ord $byte);  # CORE::read did not count it; Net::VNC's read will
            return 1;
        }
        return 0 if defined $got;  # EOF
        my $left = $deadline - Time::HiRes::time();
        return 0 if $left <= 0 || !IO::Select->new($sock)->can_read($left);
    }
}

# True when the server closed the connection (EOF now, nothing buffered).
sub server_closed {
    my ($sock) = @_;
    $sock->blocking(0);
    my $got = CORE::read($sock, my $byte, 1);
    $sock->clearerr;
    $sock->blocking(1);
    $sock->ungetc(ord $byte) if $got;
    return defined $got && $got == 0;
}
die "--port is required\n" unless $opt{port};

my $socket;
{
    no warnings 'redefine';
    *IO::Socket::INET::new = sub {
        my ($class, %args) = @_;
        $socket = CountingSocket->new(%args) or return;
        print "local_port=", $socket->sockport, "\n";
        return $socket;
    };
}

local $SIG{ALRM} = sub { die "timed out after $opt{timeout}s\n" };
alarm $opt{timeout};
my $ok = eval {
    my $vnc = Net::VNC->new({hostname => $opt{host}, port => $opt{port},
                             password => $opt{password} // ''});
    $vnc->login;
    print "name_hex=", unpack('H*', $vnc->name), "\n";
    print "width=", $vnc->width, "\n";
    print "height=", $vnc->height, "\n";
    if ($opt{capture}) {
        my $image = $vnc->capture;
        print "captured=", $image->width, "x", $image->height, "\n";
        if ($opt{'until-idle'} > 0) {
            # Like a real viewer: after each update ask for the next one.
            my $updates = 1;
            my $first = Time::HiRes::time();
            my $last = $first;
            $vnc->_send_update_request();
            while (server_bytes_waiting($vnc->socket, $opt{'until-idle'} / 1000)) {
                next unless $vnc->_receive_message() == 0;
                $updates++;
                $last = Time::HiRes::time();
                $vnc->_send_update_request();
            }
            print "updates=$updates\n";
            printf "last_update_s=%.3f\n", $last - $first;
            # An end of the connection is not "idle": fail, unless --hold is
            # there to report it (eof=1) for a test that expects it.
            die "the server closed the connection (--until-idle)\n"
                if !($opt{hold} > 0) && server_closed($vnc->socket);
        }
        my $requested = $opt{'until-idle'} > 0;  # that loop leaves one request unanswered
        my $run = 0;
        for my $command (@{$opt{run}}) {
            $run++;
            system('/bin/sh', '-c', $command) == 0
                or die "--run $run failed (status $?): $command\n";
            $vnc->_send_update_request() unless $requested;
            $requested = 1;
            my $updates = 0;
            while (server_bytes_waiting($vnc->socket, ($opt{'until-idle'} || 1000) / 1000)) {
                next unless $vnc->_receive_message() == 0;
                $updates++;
                $vnc->_send_update_request();
            }
            print "run_${run}_updates=$updates\n";
            die "the server closed the connection (--run $run)\n" if server_closed($vnc->socket);
        }
        for my $point (@{$opt{probe}}) {
            my ($x, $y) = $point =~ /\A(\d+),(\d+)\z/ or die "bad --probe $point\n";
            my ($r, $g, $b) = $vnc->_framebuffer->query_pixel($x, $y);
            printf "pixel_%d_%d=%02x%02x%02x\n", $x, $y, $r, $g, $b;
        }
    }
    if (defined $opt{save}) {
        die "--save needs a captured framebuffer\n" unless $vnc->_framebuffer;
        my $image = $vnc->_framebuffer->clone;
        $image->has_alpha(0);
        $image->image_set_format('pnm');  # Imlib2 writes P6 for an image without alpha
        $image->save($opt{save});
        print "saved=$opt{save}\n";
    }
    print "logged_in=1\n";
    if ($opt{hold} > 0) {
        # Stay connected until the server side closes or the hold time ends,
        # draining (and counting) anything that arrives meanwhile.
        my $sock = $vnc->socket;
        my $sel = IO::Select->new($sock);
        my $deadline = time + $opt{hold};
        my $eof = 0;
        while (!$eof && time < $deadline) {
            next unless $sel->can_read(0.1);
            my $n = $sock->sysread(my $buf, 65536);
            $eof = 1 if !defined $n || $n == 0;
        }
        print "eof=$eof\n";
    }
    print "bytes_sent=$CountingSocket::sent\n";
    print "bytes_received=$CountingSocket::received\n";
    close $vnc->socket;
    1;
};
alarm 0;
if (!$ok) {
    my $error = $@ || 'unknown error';
    $error =~ s/\s+\z//;
    # Net::VNC stops reading at a refusal (security type count 0, 3.3 type 0)
    # or a failed SecurityResult, but the server (or the proxy) sent a reason
    # after it, which real viewers show: read it and add it to the error.
    if ($socket && $error =~ /\A(?:Error authenticating|Connection failed|login failed)/) {
        my $reason = read_reason($socket);
        if (defined $reason) {
            print "reason_hex=", unpack('H*', $reason), "\n";
            (my $shown = $reason) =~ s/[\x00-\x1f\x7f]/?/g;
            $error .= " (server reason: $shown)";
        }
    }
    print "bytes_sent=$CountingSocket::sent\n";
    print "bytes_received=$CountingSocket::received\n";
    print "received_hex=", unpack('H*', substr($CountingSocket::head, 0, 4096)), "\n";
    print "error=$error\n";
    print STDERR "vnc_viewer: $error\n";
    exit 1;
}
print "result=ok\n";
exit 0;
