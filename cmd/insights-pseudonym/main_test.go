package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/pseudonym"
)

func TestPrintsThePseudonymsUnderEveryKey(t *testing.T) {
	file := filepath.Join(t.TempDir(), "anonymization.key")
	generated, err := pseudonym.LoadOrCreateKeyFile(file)
	require.NoError(t, err)
	other := pseudonym.Key{ID: "k2", Secret: bytes.Repeat([]byte("s"), 32)}

	var out bytes.Buffer
	require.NoError(t, run([]string{"-key-file", file, "JDoe"}, "k2="+string(other.Secret), &out))
	ring1, err := pseudonym.NewKeyring([]pseudonym.Key{generated}, "k1")
	require.NoError(t, err)
	ring2, err := pseudonym.NewKeyring([]pseudonym.Key{other}, "k2")
	require.NoError(t, err)
	assert.Equal(t, "JDoe\tk1\t"+ring1.Of("user:default/jdoe")+"\nJDoe\tk2\t"+ring2.Of("user:default/jdoe")+"\n", out.String())

	assert.ErrorContains(t, run([]string{"jdoe"}, "", &out), "no key")
	assert.ErrorContains(t, run([]string{"jdoe"}, "k1=short", &out), "at least 32")
	assert.ErrorContains(t, run(nil, "k2="+string(other.Secret), &out), "usage")
}
