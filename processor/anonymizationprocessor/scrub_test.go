package anonymizationprocessor

import (
	"bytes"
	"testing"

	"github.com/medama-io/go-useragent"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/pseudonym"
)

var testKey = pseudonym.Key{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)}

func testScrubber(t testing.TB) *scrubber {
	keys, err := pseudonym.NewKeyring([]pseudonym.Key{testKey}, "k1")
	require.NoError(t, err)
	allowed := map[string]bool{}
	for _, p := range defaultAllowedQueryParams {
		allowed[p] = true
	}
	return &scrubber{keys: keys, pseudonyms: newPseudonymCache(keys), allowedParams: allowed}
}

func TestScrubText(t *testing.T) {
	s := testScrubber(t)
	jdoe := s.keys.Of("user:default/jdoe")
	for _, tc := range []struct{ name, in, want string }{
		{"plain text", "example-website", "example-website"},
		{"e-mail", "mail jane.doe+x@corp.example.com now", "mail [email] now"},
		{"e-mail at the end of a sentence", "ask jdoe@example.com.", "ask [email]."},
		{"not an e-mail", "@backstage/plugin-catalog", "@backstage/plugin-catalog"},
		{"user ref", "owner is user:default/jdoe!", "owner is user:default/" + jdoe + "!"},
		{"short user ref", "user:JDoe", "user:default/" + jdoe},
		{"group ref kept", "group:default/team-a", "group:default/team-a"},
		{"user page", "/catalog/default/user/jdoe", "/catalog/default/user/" + jdoe},
		{"user page tab", "/catalog/default/user/JDoe/activity", "/catalog/default/user/" + jdoe + "/activity"},
		{"catalog API", "/api/catalog/entities/by-name/user/default/jdoe", "/api/catalog/entities/by-name/user/default/" + jdoe},
		{"component page kept", "/catalog/default/component/user", "/catalog/default/component/user"},
		{"query string", "/search?query=jane%20doe&filters%5Bkind%5D=component#top", "/search?filters%5Bkind%5D=component"},
		{"fragment", "https://backstage.example.com/docs#section", "https://backstage.example.com/docs"},
		{"query of a user page", "/catalog/default/user/jdoe?tab=x", "/catalog/default/user/" + jdoe},
		{"GitHub token", "token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "token [secret]"},
		{"JWT", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqZG9lIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk", "Bearer [secret]"},
		{"random token", "key=Zx9Qm2Lp7Vb4Nc1Rt8Yw3Hk6Jd5Fg0Sa", "key=[secret]"},
		{"UUID kept", "/create/tasks/1cae190a-e958-4a85-8214-3c67299a74af", "/create/tasks/1cae190a-e958-4a85-8214-3c67299a74af"},
		{"commit kept", "c8d69ff3b53ca90d8d6c98d5a8ed63f492487146", "c8d69ff3b53ca90d8d6c98d5a8ed63f492487146"},
		{"long name kept", "my-very-long-component-name-for-the-payments-team", "my-very-long-component-name-for-the-payments-team"},
		{"IPv4", "from 10.1.2.3 today", "from [ip] today"},
		{"IPv6", "from 2001:db8::1", "from [ip]"},
		{"version kept", "upgrade to 1.2.3", "upgrade to 1.2.3"},
		{"pseudonym kept", "user:default/" + jdoe, "user:default/" + jdoe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := s.text(tc.in)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in != tc.want, changed)
		})
	}
}

func TestTruncateIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":             "203.0.113.0",
		"203.0.113.77:51234":       "203.0.113.0",
		"::ffff:203.0.113.77":      "203.0.113.0",
		"2001:db8:abcd:12:1::7":    "2001:db8:abcd::",
		"[2001:db8:abcd:12::1]:80": "2001:db8:abcd::",
		"fe80::1%eth0":             "fe80::",
	} {
		got, ok := truncateIP(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	_, ok := truncateIP("localhost")
	assert.False(t, ok)
}

func TestGeneralizeUserAgent(t *testing.T) {
	p := useragent.NewParser()
	for in, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.86 Safari/537.36":               "Chrome 131 (Windows)",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15":              "Safari 18 (MacOS)",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                            "Firefox 133 (Linux)",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70": "Edge 131 (Windows)",
		"node-fetch/1.0 (+https://github.com/bitinn/node-fetch)":                                                                            otherUserAgent,
	} {
		assert.Equal(t, want, generalizeUserAgent(p, in), in)
	}
}
