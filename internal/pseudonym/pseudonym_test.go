package pseudonym

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	key1 = Key{"k1", bytes.Repeat([]byte("a"), 32)}
	key2 = Key{"k2", bytes.Repeat([]byte("b"), 32)}
)

func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"user:default/jdoe", "user:default/jdoe"},
		{"User:Default/JDoe", "user:default/jdoe"},
		{"jdoe", "user:default/jdoe"},
		{"user:jdoe", "user:default/jdoe"},
		{"development/guest", "user:development/guest"},
		{" user:default/jdoe ", "user:default/jdoe"},
		{"JDoe@Example.COM", "jdoe@example.com"},
		{"group:default/team-a", "group:default/team-a"}, // not a user ref: as it is
		{"auth0|5f7c8ec7c33c6c004bbafe82", "auth0|5f7c8ec7c33c6c004bbafe82"},
	} {
		assert.Equal(t, tc.want, Canonical(tc.in), tc.in)
	}
}

func TestPseudonyms(t *testing.T) {
	ring, err := NewKeyring([]Key{key1, key2}, "k2")
	require.NoError(t, err)
	p := ring.Of("user:default/jdoe")
	assert.Regexp(t, `^k2\.[A-Za-z0-9_-]{22}$`, p)
	assert.Equal(t, p, ring.Of("JDoe"), "every spelling of one ref")
	assert.NotEqual(t, p, ring.Of("user:default/jdoe2"))

	// Another keyring with the same key (a replica, a restart) gives the same pseudonym.
	again, err := NewKeyring([]Key{{"k2", bytes.Repeat([]byte("b"), 32)}}, "k2")
	require.NoError(t, err)
	assert.Equal(t, p, again.Of("user:default/jdoe"))

	// A different secret under the same id gives an unrelated pseudonym.
	other, err := NewKeyring([]Key{{"k2", bytes.Repeat([]byte("c"), 32)}}, "k2")
	require.NoError(t, err)
	assert.NotEqual(t, p, other.Of("user:default/jdoe"))

	// After a rotation the old key's pseudonyms are still recognised and can be recomputed for an erasure.
	all := ring.All("jdoe")
	assert.Equal(t, p, all["k2"])
	kid, ok := ring.KeyID(all["k1"])
	assert.True(t, ok)
	assert.Equal(t, "k1", kid)
	old, err := NewKeyring([]Key{key1}, "k1")
	require.NoError(t, err)
	assert.Equal(t, old.Of("jdoe"), all["k1"])

	for _, notOurs := range []string{"jdoe", "k3.AAAAAAAAAAAAAAAAAAAAAA", "k1.short", ""} {
		_, ok := ring.KeyID(notOurs)
		assert.False(t, ok, notOurs)
	}
}

func TestKeyringErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		keys   []Key
		active string
		want   string
	}{
		"no key":         {nil, "k1", "no key"},
		"short secret":   {[]Key{{"k1", []byte("short")}}, "k1", "at least 32"},
		"bad id":         {[]Key{{"K 1", key1.Secret}}, "K 1", "lower-case"},
		"duplicate id":   {[]Key{key1, key1}, "k1", "twice"},
		"unknown active": {[]Key{key1}, "k9", `"k9" is not among`},
	} {
		_, err := NewKeyring(tc.keys, tc.active)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}
}

func BenchmarkOf(b *testing.B) {
	ring, err := NewKeyring([]Key{key1}, "k1")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		_ = ring.Of("user:default/jdoe")
	}
}
