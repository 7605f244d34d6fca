package sessionizationprocessor

import (
	"context"
	"encoding/binary"
	"errors"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/insights-collector/insights-collector/internal/componentstate"
)

// keyPrefix starts the storage key of each user's state.
const keyPrefix = "user/"

// stateVersion is the first byte of a stored user state; a change of the layout is a new version. Version 2
// added the page count and the last page's plugin; a version 1 state is read with the pages counted from 0.
const stateVersion = 2

// load reads every stored user into the tracker; the caller holds p.mu.
func (p *sessionizer) load(ctx context.Context) error {
	return p.store.Load(ctx, keyPrefix, func(key string, value []byte) error {
		u, err := p.decodeUser(value)
		if err != nil {
			return err
		}
		p.tracker.users[key] = u
		if u.cur != nil {
			p.tracker.active++
		}
		return nil
	})
}

// changed returns the state of the users changed since the last call (nil for users forgotten); the caller
// holds p.mu.
func (p *sessionizer) changed() map[string][]byte {
	out := make(map[string][]byte, len(p.tracker.dirty))
	for key := range p.tracker.dirty {
		if u, ok := p.tracker.users[key]; ok {
			out[key] = p.encodeUser(u)
		} else {
			out[key] = nil
		}
	}
	clear(p.tracker.dirty)
	return out
}

// encodeUser writes a user's state; the caller holds p.mu.
func (p *sessionizer) encodeUser(u *user) []byte {
	b := []byte{stateVersion}
	b = componentstate.AppendString(b, u.prev.id)
	b = binary.AppendVarint(b, u.prev.first)
	b = binary.AppendVarint(b, u.prev.last)
	b = binary.AppendVarint(b, u.prev.ended)
	if u.cur == nil {
		return append(b, 0)
	}
	s := u.cur
	b = append(b, 1, s.userAttr)
	for _, str := range []string{s.id, s.prevID, s.entry, s.exit} {
		b = componentstate.AppendString(b, str)
	}
	for _, n := range []int64{s.startMs, s.first, s.last, s.lastArrival, int64(s.events), int64(s.navigates)} {
		b = binary.AppendVarint(b, n)
	}
	// The plugins by name (ids are the process's): the first, the others, the last.
	names := p.tracker.pluginNames(&s.plugins)
	b = componentstate.AppendString(b, names.first)
	b = binary.AppendUvarint(b, uint64(len(names.distinct)))
	for _, name := range names.distinct {
		b = componentstate.AppendString(b, name)
	}
	b = componentstate.AppendString(b, names.last)
	b = binary.AppendUvarint(b, uint64(s.pages))
	lastPage := ""
	if s.lastPage > 0 {
		lastPage = p.tracker.plugins.name(s.lastPage - 1)
	}
	b = componentstate.AppendString(b, lastPage)
	resource := p.resources.Attributes(s.resource)
	b = binary.AppendUvarint(b, uint64(resource.Len()))
	for k, v := range resource.All() {
		b = componentstate.AppendString(componentstate.AppendString(b, k), v.AsString())
	}
	return b
}

// decodeUser reads a user's state; the caller holds p.mu.
func (p *sessionizer) decodeUser(b []byte) (*user, error) {
	r := componentstate.NewReader(b)
	version := r.Byte()
	if version != 1 && version != stateVersion {
		return nil, errors.New("unknown state version")
	}
	u := &user{prev: past{id: r.Str(), first: r.Varint(), last: r.Varint(), ended: r.Varint()}}
	if r.Byte() == 1 {
		s := &session{userAttr: r.Byte()}
		s.id, s.prevID = r.Str(), r.Str()
		s.entry, s.exit = p.tracker.route(r.Str()), p.tracker.route(r.Str())
		s.startMs, s.first, s.last, s.lastArrival = r.Varint(), r.Varint(), r.Varint(), r.Varint()
		s.events, s.navigates = uint32(r.Varint()), uint32(r.Varint())
		first := r.Str()
		if first != "" {
			s.plugins.add(p.tracker.plugins.id(first))
		}
		for range r.Uvarint() {
			s.plugins.add(p.tracker.plugins.id(r.Str()))
		}
		if last := r.Str(); last != "" {
			s.plugins.add(p.tracker.plugins.id(last))
		}
		if version >= 2 {
			s.pages = uint16(r.Uvarint())
			if lastPage := r.Str(); lastPage != "" {
				s.lastPage = p.tracker.plugins.id(lastPage) + 1
			}
		}
		resource := pcommon.NewMap()
		for range r.Uvarint() {
			k := r.Str()
			resource.PutStr(k, r.Str())
		}
		s.resource = p.resources.Intern(resource)
		u.cur = s
	}
	return u, r.Err()
}
