// Package backstagecatalog syncs Users and Groups from a Backstage catalog and answers, from the last complete
// snapshot, the questions team analytics needs: a user's teams, a team's parent, type and size.
//
// Other components find the extension through the host and read its Snapshot (the Catalog interface).
package backstagecatalog

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Group is a group of the catalog, as the snapshot holds it.
type Group struct {
	Ref         string // group:<namespace>/<name>, lower-case
	Type        string // spec.type: team, business-unit, …
	DisplayName string
	Parent      string   // the parent group's ref, or ""
	Ancestors   []string // the parents up to the root, nearest first
	// DirectMembers are the users whose memberOf names the group; TotalMembers also counts those of the groups
	// below it (each user once).
	DirectMembers, TotalMembers int
}

// Snapshot is one complete reading of the catalog's users and groups.
type Snapshot struct {
	Read time.Time // when it was read
	// Users maps a user ref to the refs of the groups it is directly a member of, sorted.
	Users  map[string][]string
	Groups map[string]*Group
	// Owners maps the ref of an entity with an owner (component, API, template, …) to its owner's ref.
	Owners map[string]string
	// Skipped counts the entities that could not be read (and were left out).
	Skipped int
}

// entity is the projection of a catalog entity the sync asks for.
type entity struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Profile struct {
			DisplayName string `json:"displayName"`
		} `json:"profile"`
		MemberOf []string `json:"memberOf"`
		Parent   string   `json:"parent"`
		Type     string   `json:"type"`
		Owner    string   `json:"owner"`
	} `json:"spec"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

// ref returns an entity's ref, lower-case (Backstage refs compare case-insensitively).
func (e *entity) ref() string {
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.ToLower(e.Kind + ":" + ns + "/" + e.Metadata.Name)
}

// groupRef completes a group reference as written in spec.memberOf or spec.parent ("ops", "default/ops",
// "group:ops") to "group:<namespace>/<name>", the entity's namespace being the default.
func groupRef(s, namespace string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return ""
	}
	s = strings.TrimPrefix(s, "group:")
	if !strings.Contains(s, "/") {
		s = namespace + "/" + s
	}
	return "group:" + s
}

// ownerRef completes an owner as written in spec.owner: a group by default ("payments", "default/payments"),
// or any kind named ("user:jdoe").
func ownerRef(s, namespace string) string {
	kind, rest, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), ":")
	if !ok {
		kind, rest = "group", kind
	}
	if !strings.Contains(rest, "/") {
		rest = namespace + "/" + rest
	}
	return kind + ":" + rest
}

// Owner returns the owner of an entity, or "".
func (s *Snapshot) Owner(entityRef string) string { return s.Owners[strings.ToLower(entityRef)] }

// buildSnapshot makes a snapshot of the entities: memberships from spec.memberOf and the stitched memberOf
// relations, the group tree from spec.parent and the childOf relations.
func buildSnapshot(entities []entity) *Snapshot {
	s := &Snapshot{Users: map[string][]string{}, Groups: map[string]*Group{}, Owners: map[string]string{}}
	for i := range entities {
		e := &entities[i]
		ns := strings.ToLower(e.Metadata.Namespace)
		if ns == "" {
			ns = "default"
		}
		switch {
		case e.Metadata.Name == "":
			s.Skipped++
		case strings.EqualFold(e.Kind, "user"):
			var groups []string
			for _, g := range e.Spec.MemberOf {
				groups = append(groups, groupRef(g, ns))
			}
			for _, r := range e.Relations {
				if strings.EqualFold(r.Type, "memberOf") {
					groups = append(groups, strings.ToLower(r.TargetRef))
				}
			}
			slices.Sort(groups)
			s.Users[e.ref()] = slices.Compact(groups)
		case strings.EqualFold(e.Kind, "group"):
			g := &Group{Ref: e.ref(), Type: e.Spec.Type, DisplayName: e.Spec.Profile.DisplayName, Parent: groupRef(e.Spec.Parent, ns)}
			for _, r := range e.Relations {
				if g.Parent == "" && strings.EqualFold(r.Type, "childOf") {
					g.Parent = strings.ToLower(r.TargetRef)
				}
			}
			s.Groups[g.Ref] = g
		case e.Spec.Owner != "":
			s.Owners[e.ref()] = ownerRef(e.Spec.Owner, ns)
		default:
			s.Skipped++
		}
	}
	s.link()
	return s
}

// link computes each group's ancestors (stopping at a cycle or a missing parent) and member counts.
func (s *Snapshot) link() {
	for _, g := range s.Groups {
		seen := map[string]bool{g.Ref: true}
		for p := s.Groups[g.Parent]; p != nil && !seen[p.Ref]; p = s.Groups[p.Parent] {
			g.Ancestors = append(g.Ancestors, p.Ref)
			seen[p.Ref] = true
		}
	}
	total := map[string]map[string]bool{}
	for user, groups := range s.Users {
		for _, ref := range groups {
			g := s.Groups[ref]
			if g == nil {
				continue // a membership of a group the catalog does not have (yet)
			}
			g.DirectMembers++
			for _, t := range append([]string{ref}, g.Ancestors...) {
				if total[t] == nil {
					total[t] = map[string]bool{}
				}
				total[t][user] = true
			}
		}
	}
	for ref, users := range total {
		s.Groups[ref].TotalMembers = len(users)
	}
}

// Teams returns a user's groups: the direct ones, and with ancestors their parents up to the root; only
// groups of the given types when types is not empty.
func (s *Snapshot) Teams(user string, ancestors bool, types []string) []string {
	var out []string
	for _, ref := range s.Users[strings.ToLower(user)] {
		refs := []string{ref}
		if g := s.Groups[ref]; g != nil && ancestors {
			refs = append(refs, g.Ancestors...)
		}
		for _, r := range refs {
			g := s.Groups[r]
			if len(types) > 0 && (g == nil || !slices.Contains(types, g.Type)) {
				continue
			}
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}

func (s *Snapshot) String() string {
	return fmt.Sprintf("%d users, %d groups, %d owned entities, %d skipped", len(s.Users), len(s.Groups), len(s.Owners), s.Skipped)
}
