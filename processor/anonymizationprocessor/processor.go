package anonymizationprocessor

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/medama-io/go-useragent"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/periodic"
	"github.com/insights-collector/insights-collector/internal/pseudonym"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

// Attributes of backend spans and of OpenTelemetry's user conventions that only this processor reads.
const (
	attrEnduserID     = "enduser.id"
	attrPeerAddress   = "network.peer.address"
	attrURLQuery      = "url.query"
	attrUserEmail     = "user.email"
	attrUserName      = "user.name"
	attrUserFullName  = "user.full_name"
	attrEntityKindKey = semconv.AttrAttributesPrefix + "kind"
	attrEntityNSKey   = semconv.AttrAttributesPrefix + "namespace"
	attrEntityNameKey = semconv.AttrAttributesPrefix + "name"
)

// searchTermDomain prefixes a search term before it is hashed.
const searchTermDomain = "search-term:"

// maxRuleCacheKeys bounds the memory of which rule applies to which attribute name: names come from senders.
const maxRuleCacheKeys = 10_000

type compiledRule struct {
	name, attribute, action string
	pattern                 *regexp.Regexp
}

type anonymizer struct {
	cfg       *Config
	logger    *zap.Logger
	keys      *pseudonym.Keyring
	scrub     scrubber
	userAgent *useragent.Parser
	rules     []compiledRule
	ruleOf    sync.Map // attribute name → index in rules, or -1
	ruleCount int64
	ruleMu    sync.Mutex
	keepTrait map[string]bool
	consent   *consent
	telemetry *telemetry
	jobs      *periodic.Runner // the opt-out list's reloads
}

func newProcessor(cfg *Config, set component.TelemetrySettings) (*anonymizer, error) {
	tel, err := newTelemetry(set)
	if err != nil {
		return nil, err
	}
	a := &anonymizer{
		cfg: cfg, logger: set.Logger, telemetry: tel, userAgent: useragent.NewParser(),
		scrub:     scrubber{allowedParams: map[string]bool{}},
		keepTrait: map[string]bool{},
	}
	for _, p := range cfg.AllowedQueryParams {
		a.scrub.allowedParams[p] = true
	}
	for _, t := range cfg.KeepTraits {
		a.keepTrait[semconv.AttrAttributesPrefix+t] = true
	}
	for _, r := range cfg.Rules {
		c := compiledRule{name: r.Name, attribute: r.Attribute, action: r.Action}
		if r.Pattern != "" {
			c.pattern = regexp.MustCompile(r.Pattern) // Validate compiled it
		}
		if c.name == "" {
			c.name = r.Attribute + r.Pattern
		}
		a.rules = append(a.rules, c)
	}
	return a, nil
}

// start reads (or generates) the keys and the opt-out list: not at creation, which `otelcol validate` does too.
func (a *anonymizer) start(context.Context, component.Host) error {
	keys, err := a.cfg.keyring()
	if err != nil {
		return fmt.Errorf("anonymization keys: %w", err)
	}
	a.keys, a.scrub.keys, a.scrub.pseudonyms = keys, keys, newPseudonymCache(keys)
	if a.cfg.Consent.OptOutFile == "" {
		return nil
	}
	a.consent = &consent{path: a.cfg.Consent.OptOutFile, keys: keys, logger: a.logger,
		onLoad: func(n int) { a.telemetry.optOuts.Record(context.Background(), int64(n)) }}
	if err := a.consent.load(); err != nil {
		return err
	}
	a.jobs = periodic.Start(a.logger, periodic.Job{Every: a.cfg.Consent.ReloadInterval, Run: a.consent.reload,
		Failure: "Kept the opt-out list in force: its file could not be read"})
	return nil
}

func (a *anonymizer) shutdown(context.Context) error {
	a.jobs.Stop()
	return nil
}

func (a *anonymizer) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	t := newTally()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				action, _ := semconv.ActionOf(lr.EventName())
				if !a.anonymize(lr.Attributes(), action, t) {
					return true
				}
				if body := lr.Body(); body.Type() == pcommon.ValueTypeStr && a.cfg.FreeText == ActionScrub {
					a.scrubValue(body, t)
				}
				return false
			})
		}
	}
	a.telemetry.record(ctx, t)
	if ld.LogRecordCount() == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

func (a *anonymizer) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	t := newTally()
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			ss.Spans().RemoveIf(func(span ptrace.Span) bool { return !a.anonymize(span.Attributes(), "", t) })
		}
	}
	a.telemetry.record(ctx, t)
	if td.SpanCount() == 0 {
		return td, processorhelper.ErrSkipProcessingData
	}
	return td, nil
}

// anonymize treats the attributes of one record; false when the record must be dropped (its user opted out,
// or its user field cannot be pseudonymised).
func (a *anonymizer) anonymize(attrs pcommon.Map, action string, t *tally) bool {
	user, ok := a.userID(attrs)
	if !ok {
		t.records[outcomeInvalidUser]++
		return false
	}
	if a.optedOut(attrs) {
		t.records[outcomeOptedOut]++
		return false
	}
	t.records[outcomePassed]++
	handled := a.applyRules(attrs, t)
	a.applyDefaults(attrs, action, user, handled, t)
	return true
}

// userID returns the plain user id of a record (user.id, or enduser.id on spans); false when one is present but
// not a usable string: such a record is dropped rather than passed on with an id the processor cannot hash.
func (a *anonymizer) userID(attrs pcommon.Map) (string, bool) {
	for _, key := range []string{semconv.AttrUserID, attrEnduserID} {
		v, ok := attrs.Get(key)
		if !ok {
			continue
		}
		if v.Type() != pcommon.ValueTypeStr || strings.TrimSpace(v.Str()) == "" {
			return "", false
		}
		return v.Str(), true
	}
	return "", true
}

// optedOut checks each identity of a record against the opt-out list.
func (a *anonymizer) optedOut(attrs pcommon.Map) bool {
	if a.consent == nil {
		return false
	}
	for _, key := range []string{semconv.AttrUserID, attrEnduserID, semconv.AttrUserHash, semconv.AttrEnduserPseudoID} {
		if v, ok := attrs.Get(key); ok && v.Type() == pcommon.ValueTypeStr && a.consent.optedOut(v.Str(), a.pseudonymOf(v.Str())) {
			return true
		}
	}
	return false
}

// pseudonymOf returns the pseudonym of an id, or the id itself when it is one of ours already (a record that
// went through another tier of this processor).
func (a *anonymizer) pseudonymOf(id string) string {
	if _, ours := a.keys.KeyID(id); ours {
		return id
	}
	return a.scrub.pseudonymOf(id)
}

// ruleFor returns the configured rule of an attribute, or nil; the answer is remembered per attribute name.
func (a *anonymizer) ruleFor(key string) *compiledRule {
	if i, ok := a.ruleOf.Load(key); ok {
		if i.(int) < 0 {
			return nil
		}
		return &a.rules[i.(int)]
	}
	found := -1
	for i, r := range a.rules {
		if r.attribute == key || r.pattern != nil && r.pattern.MatchString(key) {
			found = i
			break
		}
	}
	a.ruleMu.Lock()
	if a.ruleCount < maxRuleCacheKeys {
		a.ruleOf.Store(key, found)
		a.ruleCount++
	}
	a.ruleMu.Unlock()
	if found < 0 {
		return nil
	}
	return &a.rules[found]
}

// applyRules applies the configured rules; it returns the attributes they handled, which the defaults leave
// alone.
func (a *anonymizer) applyRules(attrs pcommon.Map, t *tally) map[string]bool {
	if len(a.rules) == 0 {
		return nil
	}
	var handled map[string]bool
	attrs.RemoveIf(func(key string, v pcommon.Value) bool {
		r := a.ruleFor(key)
		if r == nil {
			return false
		}
		if handled == nil {
			handled = map[string]bool{}
		}
		handled[key] = true
		t.field(r.action, r.name)
		switch r.action {
		case ActionDrop:
			return true
		case ActionHash:
			v.SetStr(a.pseudonymOf(v.AsString()))
		case ActionRedact:
			v.SetStr(RedactedValue)
		}
		return false
	})
	return handled
}

// applyDefaults gives every attribute that identifies a person, or may, its default treatment.
func (a *anonymizer) applyDefaults(attrs pcommon.Map, action, user string, handled map[string]bool, t *tally) {
	entityName := a.userEntityName(attrs)
	var userHash string
	attrs.RemoveIf(func(key string, v pcommon.Value) bool {
		if handled[key] {
			return false
		}
		switch {
		case key == semconv.AttrUserID || key == attrEnduserID:
			userHash = a.pseudonymOf(user)
			t.field(ActionHash, ruleUserID)
			return true
		case key == semconv.AttrUserHash || key == semconv.AttrEnduserPseudoID:
			if v.Type() != pcommon.ValueTypeStr {
				t.field(ActionDrop, ruleAnonymousID)
				return true
			}
			if p := a.pseudonymOf(v.Str()); p != v.Str() {
				v.SetStr(p)
				t.field(ActionHash, ruleAnonymousID)
			}
		case key == attrUserEmail || key == attrUserName || key == attrUserFullName:
			t.field(ActionDrop, rulePersonal)
			return true
		case key == attrURLQuery:
			t.field(ActionDrop, ruleFreeText)
			return true
		case key == semconv.AttrEntityRef || key == semconv.AttrAuditActor:
			a.setIfChanged(v, a.scrub.userRefs(v.AsString()), ActionHash, ruleUserRef, t)
		case key == semconv.AttrClientAddress || key == attrPeerAddress:
			return a.clientAddress(v, t)
		case key == semconv.AttrUserAgent:
			return a.userAgentValue(v, t)
		case key == semconv.AttrSubject && action == semconv.ActionSearch:
			return a.searchTerm(v, t)
		case key == entityName:
			ns := "default"
			if nsValue, ok := attrs.Get(attrEntityNSKey); ok {
				ns = nsValue.AsString()
			}
			a.setIfChanged(v, a.scrub.userRefName(pseudonym.UserRef{Namespace: ns, Name: v.AsString()}), ActionHash, ruleUserRef, t)
		case action == semconv.ActionIdentify && strings.HasPrefix(key, semconv.AttrAttributesPrefix) && !a.keepTrait[key]:
			t.field(ActionDrop, ruleTraits)
			return true
		case a.cfg.FreeText == ActionScrub && isFreeText(key):
			a.scrubValue(v, t)
		}
		return false
	})
	if userHash != "" && !handled[semconv.AttrUserHash] {
		attrs.PutStr(semconv.AttrUserHash, userHash)
	}
}

// userEntityName returns the attribute holding a user's name when the record is about a user entity (a
// navigate to a user's page carries its kind, namespace and name), else "".
func (a *anonymizer) userEntityName(attrs pcommon.Map) string {
	if kind, ok := attrs.Get(attrEntityKindKey); ok && strings.EqualFold(kind.AsString(), "user") {
		return attrEntityNameKey
	}
	return ""
}

// isFreeText says whether an attribute holds text a person may have typed or a URL that may carry personal
// data: it is scrubbed.
func isFreeText(key string) bool {
	switch key {
	case semconv.AttrSubject, semconv.AttrURLFull, semconv.AttrURLPath:
		return true
	}
	return strings.HasPrefix(key, semconv.AttrAttributesPrefix) || strings.HasPrefix(key, semconv.AttrContextPrefix) ||
		strings.HasPrefix(key, semconv.AttrAuditMetaPrefix)
}

// scrubValue scrubs the strings of a value, inside maps and slices too.
func (a *anonymizer) scrubValue(v pcommon.Value, t *tally) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if out, changed := a.scrub.text(v.Str()); changed {
			v.SetStr(out)
			t.field(ActionScrub, ruleFreeText)
		}
	case pcommon.ValueTypeMap:
		for _, inner := range v.Map().All() {
			a.scrubValue(inner, t)
		}
	case pcommon.ValueTypeSlice:
		for _, inner := range v.Slice().All() {
			a.scrubValue(inner, t)
		}
	}
}

func (a *anonymizer) setIfChanged(v pcommon.Value, out, action, rule string, t *tally) {
	if out != v.AsString() {
		v.SetStr(out)
		t.field(action, rule)
	}
}

// clientAddress applies the client_address policy; true to remove the attribute.
func (a *anonymizer) clientAddress(v pcommon.Value, t *tally) bool {
	switch a.cfg.ClientAddress {
	case ActionKeep:
		return false
	case ActionTruncate:
		if out, ok := truncateIP(v.AsString()); ok {
			a.setIfChanged(v, out, ActionTruncate, ruleClientAddress, t)
			return false
		}
	}
	t.field(ActionDrop, ruleClientAddress)
	return true
}

// userAgentValue applies the user_agent policy; true to remove the attribute.
func (a *anonymizer) userAgentValue(v pcommon.Value, t *tally) bool {
	switch a.cfg.UserAgent {
	case ActionKeep:
		return false
	case ActionGeneralize:
		a.setIfChanged(v, generalizeUserAgent(a.userAgent, v.AsString()), ActionGeneralize, ruleUserAgent, t)
		return false
	}
	t.field(ActionDrop, ruleUserAgent)
	return true
}

// searchTerm applies the search_terms policy; true to remove the attribute.
func (a *anonymizer) searchTerm(v pcommon.Value, t *tally) bool {
	switch a.cfg.SearchTerms {
	case ActionKeep:
	case ActionScrub:
		if out, changed := a.scrub.text(v.AsString()); changed {
			v.SetStr(out)
			t.field(ActionScrub, ruleSearchTerm)
		}
	case ActionHash:
		// In a domain of its own: a term that is also a user's name must not hash to that user's pseudonym.
		v.SetStr(a.keys.Of(searchTermDomain + strings.ToLower(strings.TrimSpace(v.AsString()))))
		t.field(ActionHash, ruleSearchTerm)
	case ActionDrop:
		t.field(ActionDrop, ruleSearchTerm)
		return true
	}
	return false
}
