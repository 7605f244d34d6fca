// Package resourceset numbers the distinct resources (service, instance, environment) of the records a
// processor keeps state about, so that each state holds two bytes instead of a copy of its resource, and the
// events the processor emits later (a timer's) go out under the right resource.
package resourceset

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// MaxResources bounds the set (resources come from senders); later ones share number 0.
const MaxResources = 1 << 15

// Set is a set of resources' attributes, by number. It is not safe for concurrent use.
type Set struct {
	byKey map[string]uint16
	maps  []pcommon.Map
}

// New returns an empty set.
func New() *Set { return &Set{byKey: map[string]uint16{}} }

// Intern returns the number of a resource's attributes, adding them if they are new.
func (s *Set) Intern(attrs pcommon.Map) uint16 {
	var b strings.Builder
	for k, v := range attrs.All() {
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(v.AsString())
		b.WriteByte(0)
	}
	key := b.String()
	if id, ok := s.byKey[key]; ok {
		return id
	}
	if len(s.maps) >= MaxResources {
		return 0
	}
	m := pcommon.NewMap()
	attrs.CopyTo(m)
	id := uint16(len(s.maps))
	s.maps = append(s.maps, m)
	s.byKey[key] = id
	return id
}

// CopyTo copies resource id's attributes to dst (nothing for an unknown id).
func (s *Set) CopyTo(id uint16, dst pcommon.Map) {
	if int(id) < len(s.maps) {
		s.maps[id].CopyTo(dst)
	}
}

// Attributes returns resource id's attributes (an empty map for an unknown id); do not change them.
func (s *Set) Attributes(id uint16) pcommon.Map {
	if int(id) < len(s.maps) {
		return s.maps[id]
	}
	return pcommon.NewMap()
}
