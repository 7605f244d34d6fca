package backstagecatalog

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnapshotEdgeCases(t *testing.T) {
	var entities []entity
	for _, raw := range []string{
		`{"kind":"Group","metadata":{"name":"a"},"spec":{"type":"team","parent":"b"}}`,
		`{"kind":"Group","metadata":{"name":"b"},"spec":{"type":"team","parent":"a"}}`, // a cycle
		`{"kind":"Group","metadata":{"name":"c","namespace":"eu"},"relations":[{"type":"childOf","targetRef":"group:default/a"}]}`,
		`{"kind":"User","metadata":{"name":"Ana"},"relations":[{"type":"memberOf","targetRef":"group:eu/c"}]}`,
		`{"kind":"User","metadata":{"name":"bo"},"spec":{"memberOf":["gone"]}}`, // a group the catalog lacks
		`{"kind":"Component","metadata":{"name":"x"}}`,                          // not asked for: skipped
		`{"kind":"User","metadata":{}}`, // no name: skipped
	} {
		var e entity
		require.NoError(t, json.Unmarshal([]byte(raw), &e))
		entities = append(entities, e)
	}
	s := buildSnapshot(entities)
	assert.Equal(t, 2, s.Skipped)
	assert.Equal(t, []string{"group:default/b"}, s.Groups["group:default/a"].Ancestors, "a cycle stops")
	assert.Equal(t, []string{"group:default/a", "group:default/b"}, s.Groups["group:eu/c"].Ancestors, "parent from the childOf relation")
	assert.Equal(t, []string{"group:eu/c", "group:default/a", "group:default/b"}, s.Teams("user:default/ana", true, nil))
	assert.Equal(t, 1, s.Groups["group:default/b"].TotalMembers)
	assert.Equal(t, []string{"group:default/gone"}, s.Users["user:default/bo"], "kept: the group may come with the next sync")
}
