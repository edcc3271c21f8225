package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/dnsreroute/dnsreroute/shared/bulk"
	"github.com/dnsreroute/dnsreroute/shared/reroute"
	"github.com/dnsreroute/dnsreroute/shared/routeimport"
)

// maxImportBytes bounds an imported file: Lambda takes synchronous payloads of
// at most 6 MB (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html),
// and 10,000 rules of long URLs fit in far less.
const maxImportBytes = 5 << 20

type importJSON struct {
	DryRun        bool                `json:"dryRun"`
	Summary       routeimport.Summary `json:"summary"`
	RoutesCreated int                 `json:"routesCreated"`
	RoutesUpdated int                 `json:"routesUpdated"`
	Lines         []routeimport.Line  `json:"lines"`
}

// importRoutes imports a Cloudflare Bulk Redirects CSV file or a file in the
// service's JSON format, all or nothing; ?dryRun=true says what it would do,
// line by line, and writes nothing.
func (s *server) importRoutes(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, writeRoutes)
	if err != nil {
		return err
	}
	dryRun := false
	switch v := r.URL.Query().Get("dryRun"); v {
	case "", "false":
	case "true":
		dryRun = true
	default:
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid",
			Fields: []reroute.FieldError{{Field: "dryRun", Message: "dryRun is true or false"}}}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "text/csv" && mt != "application/json" {
		return &httpError{status: http.StatusUnsupportedMediaType, reason: "unsupported_media_type",
			msg: "send the file as text/csv (a Cloudflare Bulk Redirects list) or application/json (this service's format)"}
	}
	data, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxImportBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &httpError{status: http.StatusRequestEntityTooLarge, reason: "body_too_large",
			msg: fmt.Sprintf("the file is larger than %d MiB: split it, and import each part", maxImportBytes>>20)}
	case err != nil:
		return errorf(reroute.CodeInvalid, "malformed_body", "the body could not be read in full")
	}
	parse := routeimport.ParseCSV
	if mt == "application/json" {
		parse = routeimport.ParseJSON
	}
	f, err := parse(bytes.NewReader(data))
	if err != nil {
		return err
	}
	org := a.org
	org.RuleLimit = s.ruleLimit(org)
	deps := routeimport.Deps{Store: s.Routes, Rules: s.rules, NewDomain: s.Domains.NewDomain, Now: s.Now}
	res, err := routeimport.Import(r.Context(), deps, org, f, dryRun)
	if err != nil {
		return err
	}
	if res.Lines == nil {
		res.Lines = []routeimport.Line{}
	}
	s.importCompleted(r, org.ID, res)
	encodeJSON(w, http.StatusOK, importJSON{DryRun: res.DryRun, Summary: res.Summary,
		RoutesCreated: res.RoutesCreated, RoutesUpdated: res.RoutesUpdated, Lines: res.Lines})
	return nil
}

// exportRoutes answers the org's routes and rules as a Cloudflare Bulk
// Redirects CSV file (Accept: text/csv) or in the service's JSON format, which
// keeps every setting; importing the export changes nothing.
func (s *server) exportRoutes(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, readRoutes)
	if err != nil {
		return err
	}
	routes, err := routeimport.Export(r.Context(), s.Routes, a.org.ID)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	name := a.org.ID + "-routes"
	if wantsCSV(r.Header.Get("Accept")) {
		if err := bulk.WriteCSV(&buf, routes); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		name += ".csv"
	} else {
		if err := bulk.WriteJSON(&buf, routes); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		name += ".json"
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(buf.Bytes())
	return err
}

// wantsCSV reports whether an Accept header asks for text/csv before JSON.
func wantsCSV(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch mt {
		case "text/csv":
			return true
		case "application/json", "*/*", "application/*":
			return false
		}
	}
	return false
}

// importCompleted records import.completed for an import that ran (not a dry
// run). The import is many transactions, so the event is its own write, after
// them: a failure to record it is logged, and the answer still says what was
// imported.
func (s *server) importCompleted(r *http.Request, orgID string, res routeimport.Result) {
	if res.DryRun || s.Events == nil {
		return
	}
	e, err := reroute.NewEvent(reroute.EventImportCompleted, orgID, s.Now(), reroute.ImportEventData{
		Created: res.RoutesCreated, Updated: res.RoutesUpdated, Unchanged: res.Summary.Unchanged, Failed: res.Summary.Error})
	if err == nil {
		err = s.Events.RecordEvent(r.Context(), e)
	}
	if err != nil {
		s.Log.ErrorContext(r.Context(), "recording import.completed failed", "org", orgID, "err", err)
	}
}
