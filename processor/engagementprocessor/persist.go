package engagementprocessor

import (
	"context"
	"encoding/binary"
	"errors"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/insights-collector/insights-collector/internal/componentstate"
)

// keyPrefix starts the storage key of each user's state.
const keyPrefix = "user/"

// stateVersion is the first byte of a stored user state; a change of the layout is a new version.
const stateVersion = 1

// load reads every stored user; the caller holds p.mu.
func (p *scorer) load(ctx context.Context) error {
	return p.store.Load(ctx, keyPrefix, func(key string, value []byte) error {
		u, err := p.decodeUser(value)
		if err != nil {
			return err
		}
		p.users[key] = u
		p.watermark = max(p.watermark, u.seen)
		return nil
	})
}

// encodeUser writes a user's state, with the resource's attributes (resource numbers are the process's) and
// the tier by name (the configuration may change between runs); the caller holds p.mu.
func (p *scorer) encodeUser(u *user) []byte {
	b := []byte{stateVersion, u.userAttr}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(u.points))
	for _, n := range []int64{u.at, u.seen, u.capDay} {
		b = binary.AppendVarint(b, n)
	}
	b = binary.AppendUvarint(b, uint64(len(u.capCount)))
	for _, n := range u.capCount {
		b = binary.AppendUvarint(b, uint64(n))
	}
	b = componentstate.AppendString(b, p.tiers[u.tier-1])
	resource := p.resources.Attributes(u.resource)
	b = binary.AppendUvarint(b, uint64(resource.Len()))
	for k, v := range resource.All() {
		b = componentstate.AppendString(componentstate.AppendString(b, k), v.AsString())
	}
	return b
}

// decodeUser reads a user's state; a tier that no longer exists is evaluated again from the points.
func (p *scorer) decodeUser(b []byte) (*user, error) {
	r := componentstate.NewReader(b)
	if r.Byte() != stateVersion {
		return nil, errors.New("unknown state version")
	}
	u := &user{userAttr: r.Byte(), points: math.Float64frombits(r.Uint64())}
	u.at, u.seen, u.capDay = r.Varint(), r.Varint(), r.Varint()
	if n := r.Uvarint(); n > 0 {
		u.capCount = make([]uint16, len(p.model.capLimits))
		for i := range n {
			if c := r.Uvarint(); int(i) < len(u.capCount) {
				u.capCount[i] = uint16(c)
			}
		}
	}
	tier := r.Str()
	u.tier = p.model.tierOf(p.model.score(u.points))
	for i, name := range p.tiers {
		if name == tier {
			u.tier = uint8(i + 1)
		}
	}
	resource := pcommon.NewMap()
	for range r.Uvarint() {
		k := r.Str()
		resource.PutStr(k, r.Str())
	}
	u.resource = p.resources.Intern(resource)
	return u, r.Err()
}
