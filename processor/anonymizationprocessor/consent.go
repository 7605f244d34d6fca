package anonymizationprocessor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/pseudonym"
)

// optOuts is one reading of the opt-out list.
type optOuts struct {
	plain      map[string]bool // canonical ids
	pseudonyms map[string]bool
	oldKeys    bool // some pseudonyms are of another key than the active one
	size       int
}

// consent holds the opt-out list and re-reads its file when the file changes (reload, run periodically).
type consent struct {
	path   string
	keys   *pseudonym.Keyring
	logger *zap.Logger
	onLoad func(entries int)

	list     atomic.Pointer[optOuts]
	modTime  time.Time
	fileSize int64
}

// load reads the file; a missing file is an empty list (nobody opted out yet), an unreadable one an error.
func (c *consent) load() error {
	info, err := os.Stat(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		c.set(&optOuts{}, time.Time{}, -1)
		return nil
	}
	if err != nil {
		return fmt.Errorf("opt-out file %q: %w", c.path, err)
	}
	raw, err := os.ReadFile(c.path)
	if err != nil {
		return fmt.Errorf("read opt-out file %q: %w", c.path, err)
	}
	list := &optOuts{plain: map[string]bool{}, pseudonyms: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		list.size++
		if kid, ok := c.keys.KeyID(line); ok {
			list.pseudonyms[line] = true
			list.oldKeys = list.oldKeys || kid != c.keys.ActiveKeyID()
			continue
		}
		list.plain[pseudonym.Canonical(line)] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read opt-out file %q: %w", c.path, err)
	}
	c.set(list, info.ModTime(), info.Size())
	return nil
}

func (c *consent) set(list *optOuts, modTime time.Time, size int64) {
	c.list.Store(list)
	c.modTime, c.fileSize = modTime, size
	if c.onLoad != nil {
		c.onLoad(list.size)
	}
}

// reload re-reads the file when its modification time or size changed; a failed reading keeps the list in
// force (the error is logged by the caller's job).
func (c *consent) reload(context.Context) error {
	if !c.changed() {
		return nil
	}
	if err := c.load(); err != nil {
		return err
	}
	c.logger.Info("Reloaded the opt-out list", zap.Int("entries", c.list.Load().size))
	return nil
}

func (c *consent) changed() bool {
	info, err := os.Stat(c.path)
	if err != nil {
		return c.fileSize != -1 // the file went away: an empty list, once
	}
	return !info.ModTime().Equal(c.modTime) || info.Size() != c.fileSize
}

// optedOut says whether an id (a user id, an anonymous id or a pseudonym) is on the list; p is the id's
// pseudonym under the active key.
func (c *consent) optedOut(id, p string) bool {
	list := c.list.Load()
	if list == nil || list.size == 0 {
		return false
	}
	if list.pseudonyms[id] || list.pseudonyms[p] || list.plain[pseudonym.Canonical(id)] {
		return true
	}
	if list.oldKeys {
		for _, old := range c.keys.All(id) {
			if list.pseudonyms[old] {
				return true
			}
		}
	}
	return false
}
