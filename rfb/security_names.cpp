// Names used in the security_type event field and in log lines. Only the types
// this parser follows get a word; everything else is "type-N" so a hook sees a
// stable, unambiguous value instead of a guess.
#include "rfb/handshake_parser.hpp"

namespace vhm::rfb {

std::string security_type_name(std::uint8_t type) {
  switch (type) {
    case 1:
      return "None";
    case 2:
      return "VncAuth";
    case 6:
      return "RA2ne";
    case 16:
      return "Tight";
    case 18:
      return "TLS";
    case 19:
      return "VeNCrypt";
    case 22:
      return "xvp";
    case 30:
      return "AppleDH";
    case 113:
      return "MSLogonII";
    default:
      return "type-" + std::to_string(type);
  }
}

std::string vencrypt_subtype_name(std::uint32_t subtype) {
  switch (subtype) {
    case 1:
      return "None";
    case 2:
      return "VncAuth";
    case 256:
      return "Plain";
    case 257:
      return "TLSNone";
    case 258:
      return "TLSVnc";
    case 259:
      return "TLSPlain";
    case 260:
      return "X509None";
    case 261:
      return "X509Vnc";
    case 262:
      return "X509Plain";
    case 263:
      return "TLSSASL";
    case 264:
      return "X509SASL";
    case 265:
      return "Ident";
    case 266:
      return "TLSIdent";
    case 267:
      return "X509Ident";
    default:
      return "subtype-" + std::to_string(subtype);
  }
}

}  // namespace vhm::rfb
