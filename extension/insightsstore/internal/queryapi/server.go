package queryapi

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"runtime"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/insights-collector/insights-collector/internal/analyticsdb"
)

// Role is what a token may do; each role may do everything the roles before it may.
type Role int

const (
	RoleTeamLead Role = iota + 1 // the team metrics, of the principal's teams only
	RoleViewer                   // aggregated metrics
	RoleAnalyst                  // + raw events
	RoleAdmin                    // + erasure
)

var roleNames = map[Role]string{RoleTeamLead: "team_lead", RoleViewer: "viewer", RoleAnalyst: "analyst", RoleAdmin: "admin"}

func (r Role) String() string { return roleNames[r] }

// ParseRole reads a role name.
func ParseRole(name string) (Role, error) {
	for r, n := range roleNames {
		if n == name {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (admin, analyst, viewer or team_lead)", name)
}

// Principal is who a token belongs to.
type Principal struct {
	Name string
	Role Role
	// Teams are a team lead's teams (group refs): the team metrics answer them and the teams below them only.
	Teams []string
}

// scope restricts a team lead's query to their teams: the team filter defaults to them, and may only name
// them or teams below them. It returns a message for the caller when the query reaches beyond.
func (p Principal) scope(ctx context.Context, db *sql.DB, q *query) (string, error) {
	if p.Role != RoleTeamLead {
		return "", nil
	}
	asked := q.filter(FilterTeam)
	if len(asked) == 0 {
		if q.Filters == nil {
			q.Filters = map[string][]string{}
		}
		q.Filters[FilterTeam] = p.Teams
		return "", nil
	}
	b := &sqlb{}
	b.WriteString("SELECT team FROM unnest([" + b.list(lowered(asked)) + "]) AS asked(team) WHERE team NOT IN (" + b.list(lowered(p.Teams)) +
		") AND team NOT IN (" + b.teamsBelow(p.Teams) + ")")
	rows, err := db.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return "", fmt.Errorf("check the teams of %s: %w", p.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var team string
		if err := rows.Scan(&team); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s may see the teams %s and the teams below them, not %s", p.Name, strings.Join(p.Teams, ", "), team), nil
	}
	return "", rows.Err()
}

// Token grants a principal access.
type Token struct {
	Secret string
	Principal
}

// Media types of the answers.
const (
	mediaJSON = "application/json"
	mediaCSV  = "text/csv"
	mediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// maxQueryBytes bounds a query's body: generous for any filter list a dashboard sends, small enough that a
// runaway client cannot make the collector buffer megabytes.
const maxQueryBytes = 64 << 10

// Server answers the query API.
type Server struct {
	store   *analyticsdb.Store
	catalog map[string]*Metric
	tokens  map[[sha256.Size]byte]Principal
	k       int
	value   ValueModel
	logger  *zap.Logger
	now     func() time.Time
	gate    *gate
}

// Option configures a Server.
type Option func(*Server)

// WithValueModel sets what the roi metric counts (default: DefaultValueModel).
func WithValueModel(v ValueModel) Option { return func(s *Server) { s.value = v } }

// WithConcurrency sets how many statements run at once (default: one per core, as many as DuckDB's threads); the
// others wait their turn, up to 10 s, then get 503 with Retry-After.
func WithConcurrency(statements int) Option {
	return func(s *Server) { s.gate = newGate(statements, defaultGateWait) }
}

// WithCustomMetrics adds metrics defined in the config to the catalogue; ValidateCustomMetrics must accept them.
func WithCustomMetrics(defs []CustomMetric) Option {
	return func(s *Server) {
		byName := map[string]CustomMetric{}
		for _, d := range defs {
			byName[d.Name] = d
		}
		for _, d := range defs {
			s.catalog[d.Name] = customMetric(d, byName)
		}
	}
}

// NewServer creates the API over a store. k is the k-anonymity floor of breakdown rows.
func NewServer(store *analyticsdb.Store, tokens []Token, k int, logger *zap.Logger, options ...Option) *Server {
	s := &Server{store: store, catalog: Catalog(), tokens: map[[sha256.Size]byte]Principal{}, k: k, value: DefaultValueModel(), logger: logger, now: time.Now,
		gate: newGate(runtime.NumCPU(), defaultGateWait)}
	for _, t := range tokens {
		s.tokens[sha256.Sum256([]byte(t.Secret))] = t.Principal
	}
	for _, o := range options {
		o(s)
	}
	return s
}

// Handler routes the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/metrics", s.authorized(RoleTeamLead, s.listMetrics))
	mux.HandleFunc("POST /api/v1/query", s.authorized(RoleTeamLead, s.query))
	mux.HandleFunc("POST /api/v1/export", s.authorized(RoleTeamLead, s.query))
	mux.HandleFunc("DELETE /api/v1/users/{pseudonym...}", s.authorized(RoleAdmin, s.erase)) // plain refs hold slashes
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, OpenAPI(s.catalog)) })
	return mux
}

// apiError is the body of every error answer.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    int    `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, code int, field, message string) {
	writeJSON(w, code, apiError{Error: errorBody{Code: code, Field: field, Message: message}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"encode the answer"}}`)
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

type principalHandler func(w http.ResponseWriter, r *http.Request, p Principal)

// authorized checks the bearer token and the role.
func (s *Server) authorized(least Role, next principalHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		p, known := s.tokens[sha256.Sum256([]byte(strings.TrimSpace(token)))]
		if !ok || !known {
			w.Header().Set("WWW-Authenticate", `Bearer realm="insights"`)
			writeError(w, http.StatusUnauthorized, "", "missing or invalid bearer token")
			return
		}
		if p.Role < least {
			writeError(w, http.StatusForbidden, "", fmt.Sprintf("%s's role %s may not do this (needs %s)", p.Name, p.Role, least))
			return
		}
		next(w, r, p)
	}
}

func (s *Server) listMetrics(w http.ResponseWriter, _ *http.Request, _ Principal) {
	writeJSON(w, http.StatusOK, Listing(s.catalog, s.k))
}

func (s *Server) query(w http.ResponseWriter, r *http.Request, p Principal) {
	action := "query"
	format := negotiate(r)
	if strings.HasSuffix(r.URL.Path, "/export") {
		action = "export"
		switch r.URL.Query().Get("format") {
		case "csv":
			format = mediaCSV
		case "xlsx", "":
			format = mediaXLSX
		default:
			writeError(w, http.StatusBadRequest, "format", "unknown export format (csv or xlsx)")
			return
		}
	}
	entry := analyticsdb.AuditEntry{Principal: p.Name, Role: p.Role.String(), Action: action}
	defer func() { s.audit(r, &entry) }()

	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media != mediaJSON {
		entry.Status = http.StatusUnsupportedMediaType
		writeError(w, entry.Status, "", "send the query as application/json")
		return
	}
	var req Request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxQueryBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			entry.Status = http.StatusRequestEntityTooLarge
			writeError(w, entry.Status, "", fmt.Sprintf("a query may have at most %d bytes", maxQueryBytes))
			return
		}
		entry.Status = http.StatusBadRequest
		writeError(w, entry.Status, "", "invalid query JSON: "+err.Error())
		return
	}
	entry.Target, entry.Params = req.Metric, req
	q, err := validate(req, s.catalog, s.now())
	if err != nil {
		var re *RequestError
		errors.As(err, &re)
		entry.Status = http.StatusBadRequest
		writeError(w, entry.Status, re.Field, re.Message)
		return
	}
	if p.Role < q.metric.Role {
		entry.Status = http.StatusForbidden
		writeError(w, entry.Status, "metric", fmt.Sprintf("%s needs the role %s", q.Metric, q.metric.Role))
		return
	}
	denied, err := p.scope(r.Context(), s.store.DB(), q)
	if err != nil || denied != "" {
		entry.Status = http.StatusForbidden
		if err != nil {
			s.logger.Error("Checking a team lead's teams failed", zap.Error(err))
			entry.Status, denied = http.StatusInternalServerError, "the query failed; the collector's log has the details"
		}
		writeError(w, entry.Status, "filters."+FilterTeam, denied)
		return
	}
	q.serving = serving{rollupTZ: s.store.Timezone(), value: s.value, gate: s.gate}
	res, err := run(r.Context(), s.store.DB(), q, s.k)
	if err == nil && q.Compare != "" {
		err = comparePeriods(r.Context(), s.store.DB(), q, s.k, res)
	}
	var re *RequestError
	if errors.As(err, &re) { // what the data allows, found while computing (a history too short to fit)
		entry.Status = http.StatusBadRequest
		writeError(w, entry.Status, re.Field, re.Message)
		return
	}
	if errors.Is(err, errBusy) {
		entry.Status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
		writeError(w, entry.Status, "", errBusy.Error()+"; retry in a second")
		return
	}
	if err != nil {
		s.logger.Error("Query failed", zap.String("metric", q.Metric), zap.Error(err))
		entry.Status = http.StatusInternalServerError
		writeError(w, entry.Status, "", "the query failed; the collector's log has the details")
		return
	}
	entry.Status, entry.Rows, entry.Suppressed = http.StatusOK, int64(len(res.Rows)), int64(res.Meta.SuppressedRows)
	s.write(w, format, res)
}

// negotiate picks the answer's format from the Accept header (JSON unless CSV or XLSX is asked for).
func negotiate(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		media, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if media == mediaCSV || media == mediaXLSX {
			return media
		}
	}
	return mediaJSON
}

func (s *Server) write(w http.ResponseWriter, format string, res *Result) {
	switch format {
	case mediaCSV, mediaXLSX:
		ext := map[string]string{mediaCSV: "csv", mediaXLSX: "xlsx"}[format]
		w.Header().Set("Content-Type", format)
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, res.Meta.Metric, ext))
		w.WriteHeader(http.StatusOK)
		write := res.writeCSV
		if format == mediaXLSX {
			write = res.writeXLSX
		}
		if err := write(w); err != nil {
			s.logger.Warn("Writing the export failed", zap.String("metric", res.Meta.Metric), zap.Error(err))
		}
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// erase removes every row of a user (GDPR), by pseudonym.
func (s *Server) erase(w http.ResponseWriter, r *http.Request, p Principal) {
	pseudonym := r.PathValue("pseudonym")
	entry := analyticsdb.AuditEntry{Principal: p.Name, Role: p.Role.String(), Action: "erase", Target: pseudonym}
	defer func() { s.audit(r, &entry) }()
	deleted, err := s.store.EraseUser(r.Context(), pseudonym)
	if err != nil {
		s.logger.Error("Erasure failed", zap.Error(err))
		entry.Status = http.StatusInternalServerError
		writeError(w, entry.Status, "", "the erasure failed; the collector's log has the details")
		return
	}
	entry.Status, entry.Rows, entry.Params = http.StatusOK, deleted.Total(), deleted
	writeJSON(w, http.StatusOK, map[string]any{"user": pseudonym, "deleted": deleted, "total": deleted.Total()})
}

// audit records a request, also one whose caller went away; a failure to record is logged, not hidden.
func (s *Server) audit(r *http.Request, e *analyticsdb.AuditEntry) {
	if err := s.store.Audit(context.WithoutCancel(r.Context()), *e); err != nil { // recorded even when the caller went away
		s.logger.Error("Writing the audit log failed", zap.String("principal", e.Principal), zap.String("action", e.Action), zap.Error(err))
	}
}
