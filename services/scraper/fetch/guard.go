package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// special lists the address ranges the guard refuses besides those the
// netip predicates name (loopback, private, link-local, multicast,
// unspecified).
var special = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and 255.255.255.255
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
}

// Prefixes that embed an IPv4 address, which is then checked too.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	nat64Loc  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Blocked says why the guard refuses to connect to a, or "" if it does not.
// It refuses loopback, private (RFC 1918, ULA), link-local (including the
// cloud metadata address 169.254.169.254), multicast, unspecified,
// carrier-grade NAT and other special-purpose addresses, also when they
// hide in an IPv4-mapped, NAT64 or 6to4 IPv6 address.
func Blocked(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.why
		}
	}
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a), nat64Loc.Contains(a):
			if why := Blocked(netip.AddrFrom4([4]byte(b[12:16]))); why != "" {
				return "NAT64 of a " + why
			}
		case sixToFour.Contains(a):
			if why := Blocked(netip.AddrFrom4([4]byte(b[2:6]))); why != "" {
				return "6to4 of a " + why
			}
		}
	}
	return ""
}

// privateKinds are the reasons AllowPrivate lifts: addresses a local
// deployment (devstack) legitimately serves from. Link-local (the cloud
// metadata endpoint), unspecified, multicast and reserved addresses stay
// refused even then: nothing the scraper should read lives there.
var privateKinds = map[string]bool{"loopback": true, "private": true, "carrier-grade NAT": true}

// Allowed says why the guard refuses a, or "" if it does not, given
// whether private addresses are allowed.
func Allowed(a netip.Addr, allowPrivate bool) string {
	why := Blocked(a)
	if allowPrivate && privateKinds[why] {
		return ""
	}
	return why
}

// control is the dialer's Control hook: it runs for the very address being
// connected to, after DNS, so neither a redirect nor a DNS answer can get
// around it.
func control(allowPrivate bool, allowAddrs []netip.AddrPort) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &blockedError{why: "unparsable: " + address}
		}
		for _, ok := range allowAddrs {
			// Exactly these listeners (devstack's own sample site), not
			// their whole network.
			if ap.Addr().Unmap() == ok.Addr().Unmap() && ap.Port() == ok.Port() && privateKinds[Blocked(ap.Addr())] {
				return nil
			}
		}
		if why := Allowed(ap.Addr(), allowPrivate); why != "" {
			return &blockedError{addr: ap.Addr(), why: why}
		}
		return nil
	}
}

// dialer connects to a host name through the resolver, trying each of its
// addresses in turn; the guard sits in the net.Dialer's Control hook.
type dialer struct {
	net     *net.Dialer
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = d.resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
	}
	var errs []error
	for _, a := range addrs {
		conn, err := d.net.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("dial %s: %w", host, errors.Join(errs...))
}

func defaultResolve(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}
