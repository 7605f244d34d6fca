package anonymizationprocessor

import (
	"math"
	"net/netip"
	"net/url"
	"strings"

	"github.com/insights-collector/insights-collector/internal/pseudonym"
)

// Placeholders for what scrubbing takes out of free text.
const (
	emailPlaceholder  = "[email]"
	secretPlaceholder = "[secret]"
	ipPlaceholder     = "[ip]"
)

// scrubber takes identities and secrets out of free text: subjects, search terms, URLs and the events' own
// attributes. Each pass looks for a cheap sign first (an '@', a "user", a '?') so that ordinary text costs a few
// byte scans.
type scrubber struct {
	keys          *pseudonym.Keyring
	pseudonyms    *pseudonymCache
	allowedParams map[string]bool
}

// text scrubs a value and says whether it changed.
func (s *scrubber) text(v string) (string, bool) {
	out := v
	if looksLikeURL(out) {
		out = s.query(out)
	}
	out = s.userPaths(out)
	out = s.userRefs(out)
	out = scrubEmails(out)
	out = scrubIPs(out)
	out = scrubSecrets(out)
	return out, out != v
}

// scrubIPs replaces IP addresses in text (an address in an attribute of its own is truncated instead).
func scrubIPs(v string) string {
	if len(v) < 7 || strings.IndexByte(v, '.') < 0 && strings.Count(v, ":") < 2 {
		return v
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(v); {
		if !isIPChar(v[i]) || i > 0 && isAlnum(v[i-1]) {
			i++
			continue
		}
		end := i
		for end < len(v) && isIPChar(v[end]) {
			end++
		}
		tok := strings.TrimRight(v[i:end], ".:")
		if len(tok) >= 7 && (end == len(v) || !isAlnum(v[end])) {
			if _, err := netip.ParseAddr(tok); err == nil {
				b.WriteString(v[last:i])
				b.WriteString(ipPlaceholder)
				last = i + len(tok)
			}
		}
		i = end
	}
	if last == 0 {
		return v
	}
	b.WriteString(v[last:])
	return b.String()
}

func isIPChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
}

// pseudonymOf returns the pseudonym of a user id, from the cache when it can.
func (s *scrubber) pseudonymOf(id string) string { return s.pseudonyms.of(id) }

// userRefName returns the name a user ref gets: its pseudonym, unless it is one already.
func (s *scrubber) userRefName(ref pseudonym.UserRef) string {
	if _, ok := s.keys.KeyID(ref.Name); ok {
		return ref.Name
	}
	return s.pseudonymOf("user:" + ref.Namespace + "/" + ref.Name)
}

// userRefs replaces user entity refs in text ("user:default/jdoe", "user:jdoe") by pseudonymous ones
// ("user:default/k1.…").
func (s *scrubber) userRefs(v string) string {
	if !containsFold(v, "user:") {
		return v
	}
	var b strings.Builder
	rest := v
	for {
		i := indexFold(rest, "user:")
		if i < 0 || (i > 0 && isRefChar(rest[i-1])) {
			if i < 0 {
				b.WriteString(rest)
				return b.String()
			}
			b.WriteString(rest[:i+5])
			rest = rest[i+5:]
			continue
		}
		end := i + 5
		for end < len(rest) && (isRefChar(rest[end]) || rest[end] == '/') {
			end++
		}
		ref, ok := pseudonym.ParseUserRef(rest[i:end])
		if !ok {
			b.WriteString(rest[:end])
			rest = rest[end:]
			continue
		}
		b.WriteString(rest[:i])
		b.WriteString("user:" + strings.ToLower(ref.Namespace) + "/" + s.userRefName(ref))
		rest = rest[end:]
	}
}

// userPaths replaces the user's name in the paths of user pages: the frontend's /catalog/<ns>/user/<name> and
// the catalog API's /entities/by-name/user/<ns>/<name>.
func (s *scrubber) userPaths(v string) string {
	if !containsFold(v, "/user/") {
		return v
	}
	segs := strings.Split(v, "/")
	changed := false
	for i := 1; i < len(segs); i++ {
		if !strings.EqualFold(segs[i], "user") {
			continue
		}
		var nsAt, nameAt int
		switch {
		case i >= 2 && strings.EqualFold(segs[i-2], "catalog") && i+1 < len(segs):
			nsAt, nameAt = i-1, i+1
		case strings.EqualFold(segs[i-1], "by-name") && i+2 < len(segs):
			nsAt, nameAt = i+1, i+2
		default:
			continue
		}
		name, tail := cutPathTail(segs[nameAt])
		ref, ok := pseudonym.ParseUserRef(segs[nsAt] + "/" + name)
		if !ok {
			continue
		}
		segs[nameAt] = s.userRefName(ref) + tail
		changed = true
	}
	if !changed {
		return v
	}
	return strings.Join(segs, "/")
}

// cutPathTail splits a path segment after the name it starts with (before a query, a fragment, the rest of a
// sentence).
func cutPathTail(seg string) (string, string) {
	i := 0
	for i < len(seg) && isRefChar(seg[i]) {
		i++
	}
	return seg[:i], seg[i:]
}

func looksLikeURL(v string) bool {
	return strings.HasPrefix(v, "/") || strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://")
}

// query removes the fragment and every query parameter that is not allowed from a URL or path.
func (s *scrubber) query(v string) string {
	q := strings.IndexAny(v, "?#")
	if q < 0 {
		return v
	}
	base, rest := v[:q], v[q:]
	if rest[0] == '#' {
		return base
	}
	rawQuery, _, _ := strings.Cut(rest[1:], "#")
	var kept []string
	for _, pair := range strings.Split(rawQuery, "&") {
		key, _, _ := strings.Cut(pair, "=")
		if name, err := url.QueryUnescape(key); err == nil && s.allowedParams[name] {
			kept = append(kept, pair)
		}
	}
	if len(kept) == 0 {
		return base
	}
	return base + "?" + strings.Join(kept, "&")
}

// scrubEmails replaces e-mail addresses.
func scrubEmails(v string) string {
	if strings.IndexByte(v, '@') < 0 {
		return v
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(v); i++ {
		if v[i] != '@' || i < last {
			continue
		}
		start := i
		for start > last && isEmailLocalChar(v[start-1]) {
			start--
		}
		end := i + 1
		for end < len(v) && (isAlnum(v[end]) || v[end] == '-' || v[end] == '.') {
			end++
		}
		for end > i+1 && v[end-1] == '.' { // a sentence's full stop is not the domain's
			end--
		}
		if start == i || !strings.Contains(v[i+1:end], ".") {
			continue
		}
		b.WriteString(v[last:start])
		b.WriteString(emailPlaceholder)
		last = end
		i = end - 1
	}
	if last == 0 {
		return v
	}
	b.WriteString(v[last:])
	return b.String()
}

// knownTokenPrefixes start the tokens of common services (GitHub, GitLab, Slack, AWS, Stripe, Google, npm).
var knownTokenPrefixes = []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "xoxa-",
	"xoxr-", "AKIA", "ASIA", "sk_live_", "sk_test_", "rk_live_", "AIza", "npm_"}

// scrubSecrets replaces tokens that look like secrets: a known service prefix, a JWT, or a long run of random
// characters (at least 32, letters and digits, more than 4.2 bits of entropy per character, which hex ids
// such as UUIDs and commit hashes stay below).
func scrubSecrets(v string) string {
	if len(v) < 16 {
		return v
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(v); {
		if !isTokenChar(v[i]) {
			i++
			continue
		}
		end := i
		for end < len(v) && isTokenChar(v[end]) {
			end++
		}
		if isSecret(v[i:end]) {
			b.WriteString(v[last:i])
			b.WriteString(secretPlaceholder)
			last = end
		}
		i = end
	}
	if last == 0 {
		return v
	}
	b.WriteString(v[last:])
	return b.String()
}

func isSecret(tok string) bool {
	if len(tok) < 16 {
		return false
	}
	for _, p := range knownTokenPrefixes {
		if strings.HasPrefix(tok, p) && len(tok) >= len(p)+16 {
			return true
		}
	}
	if strings.HasPrefix(tok, "eyJ") && strings.Count(tok, ".") == 2 {
		return true // a JWT: base64url JSON header, payload and signature
	}
	return len(tok) >= 32 && hasLettersAndDigits(tok) && entropy(tok) > 4.2
}

// entropy is the Shannon entropy of s in bits per byte.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	n := float64(len(s))
	h := 0.0
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

func hasLettersAndDigits(s string) bool {
	letters, digits := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		letters = letters || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		digits = digits || c >= '0' && c <= '9'
	}
	return letters && digits
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isRefChar(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' }

func isEmailLocalChar(c byte) bool { return isRefChar(c) || c == '+' || c == '%' }

// isTokenChar: base64, base64url and the separators of JWTs and service tokens ('/' is left out: it separates
// path segments far more often than it appears in a secret; '=' too: it ends base64 but separates key=value).
func isTokenChar(c byte) bool {
	return isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '+'
}

func containsFold(s, sub string) bool { return indexFold(s, sub) >= 0 }

// indexFold is strings.Index for an ASCII lower-case needle, ignoring the case of s.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 == sub[0] && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
