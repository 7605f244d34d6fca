package sessionizationprocessor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// keyPrefix starts the storage key of each user's state.
const keyPrefix = "user/"

// stateVersion is the first byte of a stored user state; a change of the layout is a new version.
const stateVersion = 1

// stateStore keeps each user's open session and previous session in a storage extension, one key per user;
// only the users changed since the last write are written.
type stateStore struct {
	client storage.Client
	walker storage.Walker
}

func openStateStore(ctx context.Context, host component.Host, storageID, self component.ID) (*stateStore, error) {
	ext, ok := host.GetExtensions()[storageID]
	if !ok {
		return nil, fmt.Errorf("storage extension %s is not configured", storageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("extension %s is not a storage extension", storageID)
	}
	client, err := se.GetClient(ctx, component.KindProcessor, self, "sessions")
	if err != nil {
		return nil, fmt.Errorf("open storage %s: %w", storageID, err)
	}
	walker, ok := client.(storage.Walker)
	if !ok {
		return nil, errors.Join(fmt.Errorf("storage extension %s cannot list its entries (file_storage can)", storageID), client.Close(ctx))
	}
	return &stateStore{client: client, walker: walker}, nil
}

// load reads every stored user into the tracker; the caller holds p.mu.
func (s *stateStore) load(ctx context.Context, p *sessionizer) error {
	err := s.walker.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		if len(key) <= len(keyPrefix) || key[:len(keyPrefix)] != keyPrefix {
			return nil, nil
		}
		u, err := p.decodeUser(value)
		if err != nil {
			return []*storage.Operation{storage.DeleteOperation(key)}, nil // unreadable: forgotten rather than fatal
		}
		p.tracker.users[key[len(keyPrefix):]] = u
		if u.cur != nil {
			p.tracker.active++
		}
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("load the open sessions: %w", err)
	}
	return nil
}

// changed returns the writes of the users changed since the last call; the caller holds p.mu.
func (s *stateStore) changed(p *sessionizer) []*storage.Operation {
	ops := make([]*storage.Operation, 0, len(p.tracker.dirty))
	for key := range p.tracker.dirty {
		if u, ok := p.tracker.users[key]; ok {
			ops = append(ops, storage.SetOperation(keyPrefix+key, p.encodeUser(u)))
		} else {
			ops = append(ops, storage.DeleteOperation(keyPrefix+key))
		}
	}
	clear(p.tracker.dirty)
	return ops
}

func (s *stateStore) write(ctx context.Context, ops []*storage.Operation) error {
	if len(ops) == 0 {
		return nil
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("persist %d users' sessions: %w", len(ops), err)
	}
	return nil
}

func (s *stateStore) close(ctx context.Context) error { return s.client.Close(ctx) }

// encodeUser writes a user's state; the caller holds p.mu.
func (p *sessionizer) encodeUser(u *user) []byte {
	b := []byte{stateVersion}
	b = appendString(b, u.prev.id)
	b = binary.AppendVarint(b, u.prev.first)
	b = binary.AppendVarint(b, u.prev.last)
	b = binary.AppendVarint(b, u.prev.ended)
	if u.cur == nil {
		return append(b, 0)
	}
	s := u.cur
	b = append(b, 1, s.userAttr)
	for _, str := range []string{s.id, s.prevID, s.entry, s.exit} {
		b = appendString(b, str)
	}
	for _, n := range []int64{s.startMs, s.first, s.last, s.lastArrival, int64(s.events), int64(s.navigates)} {
		b = binary.AppendVarint(b, n)
	}
	// The plugins by name (ids are the process's): the first, the others, the last.
	names := p.tracker.pluginNames(&s.plugins)
	b = appendString(b, names.first)
	b = binary.AppendUvarint(b, uint64(len(names.distinct)))
	for _, name := range names.distinct {
		b = appendString(b, name)
	}
	b = appendString(b, names.last)
	resource := p.resources[s.resource]
	b = binary.AppendUvarint(b, uint64(resource.Len()))
	for k, v := range resource.All() {
		b = appendString(appendString(b, k), v.AsString())
	}
	return b
}

// decodeUser reads a user's state; the caller holds p.mu.
func (p *sessionizer) decodeUser(b []byte) (*user, error) {
	r := reader{b: b}
	if r.byte() != stateVersion {
		return nil, errors.New("unknown state version")
	}
	u := &user{prev: past{id: r.string(), first: r.varint(), last: r.varint(), ended: r.varint()}}
	if r.byte() == 1 {
		s := &session{userAttr: r.byte()}
		s.id, s.prevID, s.entry, s.exit = r.string(), r.string(), r.string(), r.string()
		s.startMs, s.first, s.last, s.lastArrival = r.varint(), r.varint(), r.varint(), r.varint()
		s.events, s.navigates = uint32(r.varint()), uint32(r.varint())
		first := r.string()
		if first != "" {
			s.plugins.add(p.tracker.plugins.id(first))
		}
		for range r.uvarint() {
			s.plugins.add(p.tracker.plugins.id(r.string()))
		}
		if last := r.string(); last != "" {
			s.plugins.add(p.tracker.plugins.id(last))
		}
		resource := pcommon.NewMap()
		for range r.uvarint() {
			k := r.string()
			resource.PutStr(k, r.string())
		}
		s.resource = p.internResource(resource)
		u.cur = s
	}
	return u, r.err
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader decodes what encodeUser wrote; the first error sticks and later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() { r.err, r.b = errors.New("truncated state"), nil }

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > uint64(len(r.b)) { // a count or length can never exceed the bytes left
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
