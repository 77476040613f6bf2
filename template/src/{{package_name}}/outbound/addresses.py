"""Which IP addresses an outbound request may reach: public ones, never this host's networks or a cloud's metadata."""

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Shared address space (RFC 6598), which `is_private` does not cover: carrier-grade NAT, and some
# clouds' internal services.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")


def refusal(address: str, *, allow_loopback: bool = False) -> str | None:
    """Why an outbound request must not connect to ADDRESS (an IP address, as `getaddrinfo` gives
    it), or None when it may: a public unicast address, or a loopback one when ALLOW_LOOPBACK."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return "is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address written as IPv6 (::ffff:10.0.0.1, 64:ff9b::/96 NAT64, 2002::/16 6to4)
        # reaches the IPv4 address inside: that one is checked.
        embedded = ip.ipv4_mapped or ip.sixtofour or _nat64(ip)
        if embedded is not None:
            return refusal(str(embedded), allow_loopback=allow_loopback)
    if ip.is_loopback:
        return None if allow_loopback else "is a loopback address"
    if ip.is_link_local:
        # 169.254.169.254 among them: the metadata service of most clouds, which hands out credentials.
        return "is a link-local address"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return "is not a unicast address"
    if ip.is_private or ip in SHARED_ADDRESS_SPACE or not ip.is_global:
        return "is a private address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        # fec0::/10, deprecated (RFC 3879) yet still some networks' internal addresses, and not
        # `is_private` to the ipaddress module: global by its account, private in fact.
        return "is a private address"
    return None


def _nat64(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None
