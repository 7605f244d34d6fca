// Package componentstate keeps a component's per-key state (a user's session, a user's score) in a storage
// extension of the collector, one entry per key, so that only what changed is written and everything is read
// back at start.
package componentstate

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Store is a component's client of a storage extension.
type Store struct {
	client storage.Client
	walker storage.Walker
}

// Open finds the storage extension storageID among the host's extensions and opens the owner's client named
// name; the extension must be able to list its entries (file_storage can).
func Open(ctx context.Context, host component.Host, storageID, owner component.ID, kind component.Kind, name string) (*Store, error) {
	ext, ok := host.GetExtensions()[storageID]
	if !ok {
		return nil, fmt.Errorf("storage extension %s is not configured", storageID)
	}
	se, ok := ext.(storage.Extension)
	if !ok {
		return nil, fmt.Errorf("extension %s is not a storage extension", storageID)
	}
	client, err := se.GetClient(ctx, kind, owner, name)
	if err != nil {
		return nil, fmt.Errorf("open storage %s: %w", storageID, err)
	}
	walker, ok := client.(storage.Walker)
	if !ok {
		return nil, errors.Join(fmt.Errorf("storage extension %s cannot list its entries (file_storage can)", storageID), client.Close(ctx))
	}
	return &Store{client: client, walker: walker}, nil
}

// Load calls fn for every entry whose key starts with prefix, with the rest of the key; an entry fn cannot
// read (it returns an error) is deleted: a state is worth less than a start.
func (s *Store) Load(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	err := s.walker.Walk(ctx, func(key string, value []byte) ([]*storage.Operation, error) {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			return nil, nil
		}
		if fn(rest, value) != nil {
			return []*storage.Operation{storage.DeleteOperation(key)}, nil
		}
		return nil, nil
	})
	if err != nil {
		return fmt.Errorf("load the state: %w", err)
	}
	return nil
}

// Write applies the changes: a value for each key set, a deletion for each key whose value is nil.
func (s *Store) Write(ctx context.Context, prefix string, changes map[string][]byte) error {
	if len(changes) == 0 {
		return nil
	}
	ops := make([]*storage.Operation, 0, len(changes))
	for key, value := range changes {
		if value == nil {
			ops = append(ops, storage.DeleteOperation(prefix+key))
		} else {
			ops = append(ops, storage.SetOperation(prefix+key, value))
		}
	}
	if err := s.client.Batch(ctx, ops...); err != nil {
		return fmt.Errorf("write the state of %d keys: %w", len(ops), err)
	}
	return nil
}

// Close closes the client.
func (s *Store) Close(ctx context.Context) error { return s.client.Close(ctx) }
