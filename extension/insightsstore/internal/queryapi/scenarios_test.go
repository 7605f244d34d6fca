package queryapi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The simulator plants behaviours (scenarioFixture); these tests show the metrics find them. The collapse of
// a plugin is TestAnomaliesFindACollapse's.

func TestAGrowingTeamLeadsTheGrowth(t *testing.T) {
	f := scenarioFixture(t)
	req := baseRequest("team_comparison")
	req.From = at(queryTo.AddDate(0, 0, -14)) // two weeks against the two before
	req.Filters = map[string][]string{FilterTeamType: {"team"}}
	res := f.query(t, req)
	teams, growth := column(t, res, "team"), column(t, res, "growth")
	best, bestGrowth := "", -1.0
	for i, team := range teams {
		if g, ok := growth[i].(float64); ok && g > bestGrowth {
			best, bestGrowth = team.(string), g
		}
	}
	assert.Equal(t, f.world.Teams[1], best, "the team whose members keep joining grows fastest")
	assert.Greater(t, bestGrowth, 0.3)
}

func onboardingFunnel() Request {
	req := baseRequest("funnel") // the last three weeks: the users seen before them are not new
	req.Funnel = &Funnel{NewUsers: true, Session: true, Steps: []Step{
		{Name: "home", Event: "backstage.navigate", Plugin: "home"},
		{Name: "getting started", Event: "backstage.navigate", Plugin: "techdocs"},
		{Name: "catalog", Event: "backstage.navigate", Plugin: "catalog"},
	}}
	return req
}

func TestAnOnboardingDropOffShowsInTheFunnel(t *testing.T) {
	// Without the scenario, new users go through their onboarding session whole; with it, 40% of those who
	// are not in the growing team leave after the docs.
	plain := setup(t).query(t, onboardingFunnel())
	dropping := scenarioFixture(t).query(t, onboardingFunnel())
	require.Len(t, plain.Rows, 3)
	require.Len(t, dropping.Rows, 3)
	stepConversion := func(r Result) []any { return column(t, r, "step_conversion") }
	assert.Greater(t, stepConversion(plain)[2].(float64), 0.9, "(a few users first seen late are not new)")
	assert.Greater(t, stepConversion(dropping)[1].(float64), 0.95, "everybody reads the getting-started docs")
	assert.Less(t, stepConversion(dropping)[2].(float64), 0.8, "the drop is at the catalog step")
}
