package resourceset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestIntern(t *testing.T) {
	s := New()
	a, b := pcommon.NewMap(), pcommon.NewMap()
	a.PutStr("backstage.instance", "portal-eu")
	b.PutStr("backstage.instance", "portal-us")
	ia, ib := s.Intern(a), s.Intern(b)
	assert.NotEqual(t, ia, ib)
	again := pcommon.NewMap()
	again.PutStr("backstage.instance", "portal-eu")
	assert.Equal(t, ia, s.Intern(again), "the same attributes, the same number")

	a.PutStr("backstage.instance", "changed") // the set keeps its own copy
	dst := pcommon.NewMap()
	s.CopyTo(ia, dst)
	assert.Equal(t, map[string]any{"backstage.instance": "portal-eu"}, dst.AsRaw())
	assert.Equal(t, 0, s.Attributes(999).Len(), "an unknown number has no attributes")
}
