package anonymizationprocessor

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/insights-collector/insights-collector/internal/semconv"
)

// payloadGen makes random events that carry user ids, e-mail addresses and IP addresses wherever Backstage
// and its senders put them, in random spellings; it remembers what it put in.
type payloadGen struct {
	r       *rand.Rand
	secrets []string // lower-case: none may appear in any output string
}

func (g *payloadGen) word(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.r.IntN(len(letters))]
	}
	return string(b)
}

func (g *payloadGen) randomCase(s string) string {
	b := []byte(s)
	for i := range b {
		if g.r.IntN(2) == 0 {
			b[i] = strings.ToUpper(string(b[i]))[0]
		}
	}
	return string(b)
}

// userRef returns a new user's ref in one of its spellings.
func (g *payloadGen) userRef() (ref, ns, name string) {
	ns, name = []string{"default", "development", "corp"}[g.r.IntN(3)], "u"+g.word(9)
	g.secrets = append(g.secrets, name)
	switch g.r.IntN(3) {
	case 0:
		return g.randomCase("user:" + ns + "/" + name), ns, name
	case 1:
		return "user:" + name, "default", name
	default:
		return "User:" + ns + "/" + g.randomCase(name), ns, name
	}
}

func (g *payloadGen) email() string {
	e := fmt.Sprintf("%s.%s@corp%d.example.com", g.word(5), g.word(6), g.r.IntN(100))
	g.secrets = append(g.secrets, strings.ToLower(e))
	return e
}

func (g *payloadGen) ip() string {
	var ip string
	if g.r.IntN(2) == 0 {
		ip = fmt.Sprintf("%d.%d.%d.%d", 1+g.r.IntN(223), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))
	} else {
		ip = fmt.Sprintf("2001:db8:%x:%x::%x", g.r.IntN(65536), 1+g.r.IntN(65535), 1+g.r.IntN(65535))
	}
	g.secrets = append(g.secrets, ip)
	return ip
}

func (g *payloadGen) text() string {
	parts := []string{g.word(4), g.word(7)}
	switch g.r.IntN(5) {
	case 0:
		parts = append(parts, g.email())
	case 1:
		ref, _, _ := g.userRef()
		parts = append(parts, ref)
	case 2:
		parts = append(parts, "from", g.ip())
	case 3:
		_, ns, name := g.userRef()
		parts = append(parts, "/catalog/"+ns+"/user/"+g.randomCase(name))
	}
	g.r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return strings.Join(parts, " ")
}

func (g *payloadGen) event(lr plog.LogRecord) {
	action := []string{"navigate", "click", "search", "discover", "identify", "create"}[g.r.IntN(6)]
	lr.SetEventName(semconv.EventName(action))
	attrs := lr.Attributes()
	attrs.PutStr(semconv.AttrAction, action)
	user, _, _ := g.userRef()
	attrs.PutStr(semconv.AttrUserID, user)
	if g.r.IntN(2) == 0 {
		other, _, _ := g.userRef()
		attrs.PutStr(semconv.AttrEntityRef, other)
	}
	_, ns, name := g.userRef()
	attrs.PutStr(semconv.AttrSubject, []string{g.text(), "/catalog/" + ns + "/user/" + name + "?tab=" + g.word(3), g.email()}[g.r.IntN(3)])
	attrs.PutStr(semconv.AttrClientAddress, g.ip())
	attrs.PutStr(semconv.AttrURLFull, fmt.Sprintf("https://backstage.example.com/search?query=%s&owner=%s#%s", g.email(), user, g.word(3)))
	attrs.PutStr(semconv.AttrEnduserPseudoID, "anon-"+g.word(12))
	g.secrets = append(g.secrets, strings.ToLower(attrs.AsRaw()[semconv.AttrEnduserPseudoID].(string)))
	for range g.r.IntN(4) {
		attrs.PutStr(semconv.AttrAttributesPrefix+g.word(5), g.text())
	}
	if g.r.IntN(2) == 0 {
		attrs.PutStr(semconv.AttrContextPrefix+"userName", user)
	}
	meta := attrs.PutEmptySlice(semconv.AttrAuditMetaPrefix + "entityRefs")
	ref, _, _ := g.userRef()
	meta.AppendEmpty().SetStr(ref)
	meta.AppendEmpty().SetStr("group:default/" + g.word(5))
}

// Property: for random payloads, no output string contains any input user id, e-mail address or IP address.
func TestNoIdentityInTheOutput(t *testing.T) {
	h := start(t, testConfig())
	for seed := range uint64(50) {
		g := &payloadGen{r: rand.New(rand.NewPCG(seed, 1))}
		ld := plog.NewLogs()
		records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for range 20 {
			g.event(records.AppendEmpty())
		}
		out := h.process(t, ld)
		require.Len(t, out, 20)
		for _, lr := range out {
			attrs := lr.Attributes().AsRaw()
			for _, s := range allStrings(attrs) {
				lower := strings.ToLower(s)
				for _, secret := range g.secrets {
					require.NotContains(t, lower, secret, "seed %d: %v", seed, attrs)
				}
			}
		}
	}
}
