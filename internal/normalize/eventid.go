package normalize

import (
	"crypto/sha256"
	"encoding/binary"
	"math"

	"github.com/google/uuid"
)

// idFields are the parts of an event that identify it. The same event yields the same id in every wire
// format, so a retried batch — or an event sent twice by two modules — is recognisable downstream.
type idFields struct {
	payloadID string // the sender's own id (Segment messageId, insights.event.id); wins when present

	user, anonymous, session, action, subject, plugin, extension, entity string
	value                                                                float64
	hasValue                                                             bool
	time                                                                 int64 // payload time, ns

	// useBody: the event has no time of its own, so its id comes from the request body and its index in it
	// (only a byte-identical retry is recognised then).
	useBody    bool
	bodyDigest [sha256.Size]byte
	index      int
}

// derive returns the event id: the payload's id when it is a canonical UUID, else a UUIDv8 (RFC 9562) made
// of the first 16 bytes of a SHA-256 over the fields.
func (f *idFields) derive() string {
	if f.payloadID != "" {
		if len(f.payloadID) == 36 {
			if u, err := uuid.Parse(f.payloadID); err == nil {
				return u.String()
			}
		}
		return hashID([]byte("id\x00" + f.payloadID))
	}
	buf := make([]byte, 0, 256)
	for _, s := range [...]string{f.user, f.anonymous, f.session, f.action, f.subject, f.plugin, f.extension, f.entity} {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	if f.hasValue {
		buf = append(buf, 1)
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(f.value))
	} else {
		buf = append(buf, 0)
	}
	if f.useBody {
		buf = append(buf, f.bodyDigest[:]...)
		buf = binary.AppendUvarint(buf, uint64(f.index))
	} else {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(f.time))
	}
	return hashID(buf)
}

func hashID(data []byte) string {
	sum := sha256.Sum256(data)
	var u uuid.UUID
	copy(u[:], sum[:16])
	u[6] = (u[6] & 0x0f) | 0x80 // version 8
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 9562 variant
	return u.String()
}
