package anonymizationprocessor

import (
	"net"
	"net/netip"
	"strings"

	"github.com/medama-io/go-useragent"
)

// otherUserAgent is what a user agent that names no known browser becomes.
const otherUserAgent = "Other"

// generalizeUserAgent keeps what a platform team needs of a user agent (which browsers and systems to support)
// and drops the rest, whose combination of versions, devices and plugins can single a person out:
// "Chrome 131 (Windows)".
func generalizeUserAgent(parser *useragent.Parser, ua string) string {
	agent := parser.Parse(ua)
	if agent.IsBot() {
		return "Bot"
	}
	browser := string(agent.Browser())
	if browser == "" {
		return otherUserAgent
	}
	out := browser
	if major := agent.BrowserVersionMajor(); major != "" {
		out += " " + major
	}
	if os := string(agent.OS()); os != "" {
		out += " (" + os + ")"
	}
	return out
}

// truncateIP keeps the network of an address: the /24 of IPv4, the /48 of IPv6. ok is false for what is not an
// IP address (it is then dropped: it may be anything).
func truncateIP(v string) (string, bool) {
	host := v
	if h, _, err := net.SplitHostPort(v); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return "", false
	}
	addr = addr.Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	prefix, err := addr.WithZone("").Prefix(bits)
	if err != nil {
		return "", false
	}
	return prefix.Addr().String(), true
}
