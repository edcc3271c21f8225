package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/dnsreroute/dnsreroute/shared/reroute"
)

type apiKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scope      string     `json:"scope"`
	Hint       string     `json:"hint"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	Secret     string     `json:"secret,omitempty"` // only in the answer that creates it
}

func toAPIKeyJSON(k reroute.APIKey) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Name: k.Name, Scope: string(k.Scope), Hint: k.Hint, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
	if !k.ExpiresAt.IsZero() {
		out.ExpiresAt = &k.ExpiresAt
	}
	if !k.LastUsedAt.IsZero() {
		out.LastUsedAt = &k.LastUsedAt
	}
	return out
}

type apiKeyInput struct {
	Name      string        `json:"name"`
	Scope     reroute.Scope `json:"scope"`
	ExpiresAt *time.Time    `json:"expiresAt"`
}

func (s *server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, manageKeys)
	if err != nil {
		return err
	}
	page, err := pageRequest(r.URL.Query())
	if err != nil {
		return err
	}
	p, err := s.Keys.ListAPIKeys(r.Context(), a.org.ID, page)
	if err != nil {
		return err
	}
	out := list[apiKeyJSON]{Items: make([]apiKeyJSON, len(p.Items)), NextCursor: p.NextCursor}
	for i, k := range p.Items {
		out.Items[i] = toAPIKeyJSON(k)
	}
	encodeJSON(w, http.StatusOK, out)
	return nil
}

func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, manageKeys)
	if err != nil {
		return err
	}
	if err := s.checkAllowed(a.org, allowsAPIKeys, "API keys"); err != nil {
		return err
	}
	in, err := decode[apiKeyInput](r)
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	var fields []reroute.FieldError
	name, err := reroute.NormalizeKeyName(in.Name)
	if err != nil {
		var e *reroute.Error
		if errors.As(err, &e) {
			fields = append(fields, e.Fields...)
		}
	}
	if in.Scope == "" {
		in.Scope = reroute.ScopeRead
	}
	if !reroute.ValidScope(in.Scope) {
		fields = append(fields, reroute.FieldError{Field: "scope", Message: "scope must be read or write"})
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		fields = append(fields, reroute.FieldError{Field: "expiresAt", Message: "expiresAt must be in the future"})
	}
	if len(fields) > 0 {
		return &reroute.Error{Code: reroute.CodeInvalid, Reason: "validation_failed", Message: "the input is not valid", Fields: fields}
	}
	secret, hash, hint, err := reroute.NewAPIKeySecret(s.Rand)
	if err != nil {
		return err
	}
	id, err := s.newID("key_")
	if err != nil {
		return err
	}
	k := reroute.APIKey{ID: id, OrgID: a.org.ID, Name: name, Scope: in.Scope, Hash: hash, Hint: hint,
		CreatedBy: a.caller.Email, CreatedAt: now}
	if in.ExpiresAt != nil {
		k.ExpiresAt = in.ExpiresAt.UTC()
	}
	if err := s.Keys.CreateAPIKey(r.Context(), k); err != nil {
		return err
	}
	out := toAPIKeyJSON(k)
	out.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	encodeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *server) deleteAPIKey(w http.ResponseWriter, r *http.Request) error {
	a, err := s.orgAccess(r, manageKeys)
	if err != nil {
		return err
	}
	if err := s.Keys.DeleteAPIKey(r.Context(), a.org.ID, r.PathValue("keyId")); err != nil {
		if reroute.IsNotFound(err) {
			return errorf(reroute.CodeNotFound, "api_key_not_found", "no such API key")
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
