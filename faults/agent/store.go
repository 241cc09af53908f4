package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Store keeps the actions an executor holds, one JSON file each, written
// atomically (write, fsync, rename) so that a crash never leaves half an action.
type Store struct {
	Dir string
}

func (s Store) path(id string) string { return filepath.Join(s.Dir, id+".json") }

// Put writes (or replaces) an action.
func (s Store) Put(a Action) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory %s: %w", s.Dir, err)
	}
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding action %s: %w", a.ID, err)
	}
	tmp := s.path(a.ID) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("writing action %s: %w", a.ID, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing action %s: %w", a.ID, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing action %s: %w", a.ID, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing action %s: %w", a.ID, err)
	}
	if err := os.Rename(tmp, s.path(a.ID)); err != nil {
		return fmt.Errorf("storing action %s: %w", a.ID, err)
	}
	return nil
}

// Get reads one action (ErrNotFound when absent).
func (s Store) Get(id string) (Action, error) {
	data, err := os.ReadFile(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return Action{}, fmt.Errorf("action %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Action{}, fmt.Errorf("reading action %s: %w", id, err)
	}
	var a Action
	if err := json.Unmarshal(data, &a); err != nil {
		return Action{}, fmt.Errorf("decoding action %s: %w", id, err)
	}
	return a, nil
}

// Delete forgets an action; an absent one is fine.
func (s Store) Delete(id string) error {
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing action %s: %w", id, err)
	}
	return nil
}

// List returns every action held, by id. Unreadable files are reported,
// not skipped silently: they would be faults nobody reverts.
func (s Store) List() ([]Action, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing state directory %s: %w", s.Dir, err)
	}
	var out []Action
	var bad []string
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		a, err := s.Get(strings.TrimSuffix(name, ".json"))
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(bad) > 0 {
		return out, fmt.Errorf("state directory %s: %s", s.Dir, strings.Join(bad, "; "))
	}
	return out, nil
}
