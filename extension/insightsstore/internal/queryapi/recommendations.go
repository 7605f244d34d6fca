package queryapi

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"golang.org/x/sync/errgroup"
)

// The thresholds of the recommendation rules: each finding states the numbers it rests on, so that a reader can
// judge it; these only decide what is worth saying.
const (
	// underused plugins: reached many, kept few.
	underusedReach     = 0.2
	underusedRetention = 0.3
	// declining plugins: lost this share of their users against the period before.
	decliningTrend = -0.3
	// lagging teams: adoption under this share of the median team's.
	laggingShareOfMedian = 0.5
	// failing searches: terms searched this often that mostly find nothing.
	failingSearches   = 5
	failingZeroResult = 0.5
	// unhealthy plugins: used by this share of the active users, and erring or slow.
	unhealthyReach     = 0.1
	unhealthyErrorRate = 0.05
	unhealthyP95Ms     = 1000
	// failing templates: backend runs, and the success rate under which they are named.
	failingTemplateRuns    = 5
	failingTemplateSuccess = 0.8
	// onboarding: a step of the new users' funnel that keeps fewer than this.
	onboardingStepConversion = 0.8
	maxFindingsPerKind       = 5
)

// Severities of a finding, the worst first.
const (
	SeverityHigh   = "high"
	SeverityMedium = "medium"
	SeverityLow    = "low"
)

var severityOrder = map[string]int{SeverityHigh: 0, SeverityMedium: 1, SeverityLow: 2}

// onboardingSteps is the new users' funnel the onboarding rule looks for a drop-off in (Request.Funnel replaces it).
var onboardingSteps = []Step{
	{Name: "first page", Event: "backstage.navigate"},
	{Name: "software catalog", Event: "backstage.navigate", Plugin: "catalog"},
	{Name: "template run", Event: "backstage.create"},
}

const onboardingWindowHours = 30 * 24

func recommendationsMetric() *Metric {
	return &Metric{
		Name: "recommendations",
		Description: fmt.Sprintf("Rule-based findings over the range, each with its numbers, a severity and the query that shows it: "+
			"underused plugins (reached at least %.0f%% of the active users, but under %.0f%% of the previous period's users came back), "+
			"declining plugins (lost at least %.0f%% of their users against the previous period), teams whose adoption is under "+
			"%.0f%% of the median team's, search terms searched at least %d times that find nothing at least %.0f%% of the time, "+
			"plugins used by at least %.0f%% of the active users with an error rate of %.0f%% or a p95 of %d ms or more, "+
			"templates with at least %d backend runs and a success rate under %.0f%%, and each step of the new users' "+
			"onboarding funnel (first page, catalog, template run within 30 days; funnel replaces it) that keeps under %.0f%% of "+
			"those of the step before.", underusedReach*100, underusedRetention*100, -decliningTrend*100, laggingShareOfMedian*100,
			failingSearches, failingZeroResult*100, unhealthyReach*100, unhealthyErrorRate*100, unhealthyP95Ms, failingTemplateRuns,
			failingTemplateSuccess*100, onboardingStepConversion*100),
		Filters: []string{FilterInstance}, NeedsFunnel: true, FunnelOptional: true,
		Columns: []Column{dimension("severity"), dimension("kind"), dimension("subject"), dimension("finding"),
			number("value", "", "the number the rule tripped on"), number("baseline", "", "what it is compared with"),
			dimension("query (the request of the metric that shows it, JSON)")},
		Role: RoleViewer, derive: recommend,
	}
}

// finding is one row of recommendations.
type finding struct {
	severity, kind, subject, text string
	value, baseline               float64
	query                         Request
}

func recommend(ctx context.Context, db *sql.DB, q *query, k int) (*Result, error) {
	start := time.Now()
	rules := []func(context.Context, *sql.DB, *query, int) ([]finding, error){
		pluginFindings, lowAdoptionTeams, failingSearchTerms, failingTemplates, onboardingDropOff,
	}
	// Two rules at a time, the onboarding funnel (the longest, 30-40 ms) first: the others read rollups, and
	// DuckDB runs such a small query on about one core (its time equals its CPU time), so two overlap on two
	// cores: 99-105 ms against 114-135 one after the other (alternated binaries, 10 million events). Five at
	// once were 1.7 times slower than one at a time.
	found := make([][]finding, len(rules))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for i := len(rules) - 1; i >= 0; i-- {
		g.Go(func() error {
			var err error
			found[i], err = rules[i](gctx, db, q, k)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var all []finding
	perKind := map[string]int{}
	for _, f := range slices.Concat(found...) {
		if perKind[f.kind]++; perKind[f.kind] <= maxFindingsPerKind {
			all = append(all, f)
		}
	}
	slices.SortStableFunc(all, func(a, b finding) int { return cmp.Compare(severityOrder[a.severity], severityOrder[b.severity]) })
	res := &Result{Columns: []Column{dimension("severity"), dimension("kind"), dimension("subject"), dimension("finding"),
		number("value", "", ""), number("baseline", "", ""), dimension("query")}, Rows: [][]any{},
		Meta: Meta{Metric: q.Metric, From: q.from, To: q.to, Timezone: q.Timezone, KAnonymity: k}}
	for _, f := range all {
		query, err := json.Marshal(f.query)
		if err != nil {
			return nil, err
		}
		res.Rows = append(res.Rows, []any{f.severity, f.kind, f.subject, f.text, f.value, f.baseline, string(query)})
	}
	res.Meta.QueryMillis = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

// ask runs another metric over the request's range, time zone and instances.
func ask(ctx context.Context, db *sql.DB, q *query, k int, req Request) (Request, *Result, error) {
	req.From, req.To, req.Timezone = Time{Time: q.from}, Time{Time: q.to}, q.Timezone
	if instances := q.filter(FilterInstance); len(instances) > 0 {
		if req.Filters == nil {
			req.Filters = map[string][]string{}
		}
		req.Filters[FilterInstance] = instances
	}
	if req.Limit == 0 {
		req.Limit = maxLimit
	}
	sub, err := validate(req, q.catalog, q.now)
	if err != nil {
		return req, nil, fmt.Errorf("recommendations: %s: %w", req.Metric, err)
	}
	sub.serving = q.serving
	res, err := run(ctx, db, sub, k)
	return req, res, err
}

// rows gives a result's rows as maps by column name.
func rows(res *Result) []map[string]any {
	out := make([]map[string]any, len(res.Rows))
	for i, row := range res.Rows {
		out[i] = map[string]any{}
		for j, c := range res.Columns {
			out[i][c.Name] = row[j]
		}
	}
	return out
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

// pluginFindings reads the plugins' usage once for the underused, declining and unhealthy plugins.
func pluginFindings(ctx context.Context, db *sql.DB, q *query, k int) ([]finding, error) {
	req, usage, err := ask(ctx, db, q, k, Request{Metric: "plugin_adoption"})
	if err != nil {
		return nil, err
	}
	unhealthy, err := unhealthyPlugins(ctx, db, q, k, usage)
	if err != nil {
		return nil, err
	}
	return append(usageFindings(req, usage, k), unhealthy...), nil
}

// usageFindings are the plugins reached by many but kept by few, and those losing their users.
func usageFindings(req Request, res *Result, k int) []finding {
	var out []finding
	for _, r := range rows(res) {
		plugin := r["plugin"].(string)
		share, _ := num(r["share"])
		retention, hasRetention := num(r["retention"])
		trend, hasTrend := num(r["trend"])
		previous, _ := num(r["previous_users"])
		switch {
		case hasRetention && share >= underusedReach && retention < underusedRetention:
			out = append(out, finding{severity: SeverityMedium, kind: "underused_plugin", subject: plugin, value: retention, baseline: underusedRetention, query: req,
				text: fmt.Sprintf("%s reached %.0f%% of the active users, but only %.0f%% of its previous period's users came back", plugin, share*100, retention*100)})
		case hasTrend && trend <= decliningTrend && previous >= float64(k):
			severity := SeverityMedium
			if trend <= 2*decliningTrend {
				severity = SeverityHigh
			}
			out = append(out, finding{severity: severity, kind: "declining_plugin", subject: plugin, value: trend, baseline: previous, query: req,
				text: fmt.Sprintf("%s lost %.0f%% of its users: %v against %.0f in the period before", plugin, -trend*100, r["users"], previous)})
		}
	}
	return out
}

func lowAdoptionTeams(ctx context.Context, db *sql.DB, q *query, k int) ([]finding, error) {
	req, res, err := ask(ctx, db, q, k, Request{Metric: "team_comparison", Filters: map[string][]string{FilterTeamType: {"team"}}})
	if err != nil {
		return nil, err
	}
	var adoptions []float64
	for _, r := range rows(res) {
		if a, ok := num(r["adoption"]); ok {
			adoptions = append(adoptions, a)
		}
	}
	if len(adoptions) < 4 { // peers: a median of fewer says little
		return nil, nil
	}
	sort.Float64s(adoptions)
	median := adoptions[len(adoptions)/2]
	if len(adoptions)%2 == 0 {
		median = (adoptions[len(adoptions)/2-1] + adoptions[len(adoptions)/2]) / 2
	}
	var out []finding
	for _, r := range rows(res) {
		a, ok := num(r["adoption"])
		if !ok || a >= laggingShareOfMedian*median {
			continue
		}
		team := r["team"].(string)
		severity := SeverityMedium
		if a < laggingShareOfMedian*median/2 {
			severity = SeverityHigh
		}
		out = append(out, finding{severity: severity, kind: "lagging_team", subject: team, value: a, baseline: median, query: req,
			text: fmt.Sprintf("%s: %.0f%% of its %v members are active, against %.0f%% for the median team", team, a*100, r["members"], median*100)})
	}
	return out, nil
}

func failingSearchTerms(ctx context.Context, db *sql.DB, q *query, k int) ([]finding, error) {
	req, res, err := ask(ctx, db, q, k, Request{Metric: "search"})
	if err != nil {
		return nil, err
	}
	var out []finding
	for _, r := range rows(res) { // most searched first
		searches, _ := num(r["searches"])
		zero, ok := num(r["zero_result_rate"])
		if !ok || searches < failingSearches || zero < failingZeroResult {
			continue
		}
		severity := SeverityLow
		if zero >= 0.9 {
			severity = SeverityMedium
		}
		term := r["term"].(string)
		out = append(out, finding{severity: severity, kind: "failing_search", subject: term, value: zero, baseline: searches, query: req,
			text: fmt.Sprintf("%q was searched %.0f times and found nothing %.0f%% of the time: add or tag what people look for", term, searches, zero*100)})
	}
	return out, nil
}

// unhealthyPlugins are the plugins used by many whose backend fails or is slow.
func unhealthyPlugins(ctx context.Context, db *sql.DB, q *query, k int, usage *Result) ([]finding, error) {
	reach := map[string]float64{}
	for _, r := range rows(usage) {
		reach[r["plugin"].(string)], _ = num(r["share"])
	}
	req, res, err := ask(ctx, db, q, k, Request{Metric: "platform_health"})
	if err != nil {
		return nil, err
	}
	var out []finding
	for _, r := range rows(res) {
		plugin, _ := r["plugin"].(string)
		errorRate, _ := num(r["error_rate"])
		p95, _ := num(r["p95_ms"])
		if reach[plugin] < unhealthyReach || (errorRate < unhealthyErrorRate && p95 < unhealthyP95Ms) {
			continue
		}
		severity := SeverityMedium
		if errorRate >= 2*unhealthyErrorRate {
			severity = SeverityHigh
		}
		out = append(out, finding{severity: severity, kind: "unhealthy_plugin", subject: plugin, value: errorRate, baseline: p95, query: req,
			text: fmt.Sprintf("%s is used by %.0f%% of the active users and fails %.1f%% of its requests (p95 %.0f ms)", plugin, reach[plugin]*100, errorRate*100, p95)})
	}
	return out, nil
}

func failingTemplates(ctx context.Context, db *sql.DB, q *query, k int) ([]finding, error) {
	req, res, err := ask(ctx, db, q, k, Request{Metric: "templates"})
	if err != nil {
		return nil, err
	}
	var out []finding
	for _, r := range rows(res) {
		runs, _ := num(r["backend_runs"])
		success, ok := num(r["success_rate"])
		if !ok || runs < failingTemplateRuns || success >= failingTemplateSuccess {
			continue
		}
		severity := SeverityMedium
		if success < failingTemplateSuccess/2 {
			severity = SeverityHigh
		}
		template := r["template"].(string)
		out = append(out, finding{severity: severity, kind: "failing_template", subject: template, value: success, baseline: runs, query: req,
			text: fmt.Sprintf("%s succeeded in %.0f%% of its %.0f runs", template, success*100, runs)})
	}
	return out, nil
}

func onboardingDropOff(ctx context.Context, db *sql.DB, q *query, k int) ([]finding, error) {
	funnel := Funnel{Steps: onboardingSteps, WithinHours: onboardingWindowHours, NewUsers: true}
	if q.Funnel != nil {
		funnel = *q.Funnel
	}
	req, res, err := ask(ctx, db, q, k, Request{Metric: "funnel", Funnel: &funnel})
	if err != nil {
		return nil, err
	}
	var out []finding
	previous := ""
	for _, r := range rows(res) {
		name := r["name"].(string)
		before := previous
		previous = name
		conversion, ok := num(r["step_conversion"])
		if !ok || conversion >= onboardingStepConversion {
			continue
		}
		severity := SeverityMedium
		if conversion < onboardingStepConversion/2 {
			severity = SeverityLow // a key action most never reach is common; a sharp early drop is not
		}
		step, _ := num(r["step"])
		if step == 2 {
			severity = SeverityHigh // lost right after arriving
		}
		out = append(out, finding{severity: severity, kind: "onboarding_drop_off", subject: name, value: conversion, baseline: onboardingStepConversion, query: req,
			text: fmt.Sprintf("%.0f%% of the new users who reached %q went on to %q", conversion*100, before, name)})
	}
	return out, nil
}
