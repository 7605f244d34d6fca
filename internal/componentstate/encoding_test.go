package componentstate

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReader(t *testing.T) {
	b := []byte{7}
	b = binary.AppendVarint(b, -42)
	b = AppendString(b, "k1.ana")
	b = binary.LittleEndian.AppendUint64(b, 99)
	r := NewReader(b)
	assert.Equal(t, byte(7), r.Byte())
	assert.Equal(t, int64(-42), r.Varint())
	assert.Equal(t, "k1.ana", r.Str())
	assert.Equal(t, uint64(99), r.Uint64())
	require.NoError(t, r.Err())

	// A truncated state is an error, and the reads after it are zero values.
	r = NewReader(AppendString(nil, "k1.ana")[:4])
	assert.Equal(t, "", r.Str())
	assert.Equal(t, int64(0), r.Varint())
	assert.Error(t, r.Err())
	r = NewReader([]byte{200, 1}) // a length beyond the bytes
	_ = r.Str()
	assert.Error(t, r.Err())
}
