package main

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// webConfig is the dashboard's config.json: where its API and sign-in are.
type webConfig struct {
	APIURL      string `json:"apiUrl"`
	Issuer      string `json:"issuer"`
	ClientID    string `json:"clientId"`
	CNAMETarget string `json:"cnameTarget"`
}

// webContentSecurityPolicy lets the dashboard talk to its own origin only, as it
// does locally (API, sign-in and app on one address).
// Inline styles are allowed (the API reference viewer sets style attributes);
// scripts stay limited to the app's own files.
const webContentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'self'"

// webHandler serves the built dashboard (web/dist) from dist: its files, with
// index.html for every other GET path (other methods: 405) (the app routes in the browser), and
// /config.json from cfg. dist may be nil (the app was not built): a page then
// says how to build it. Paths under /assets/ that do not exist answer 404, not
// the app, so that a stale page fails plainly.
func webHandler(dist fs.FS, cfg webConfig) http.Handler {
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		panic(err) // strings only
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/config.json" {
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(cfgJSON)
			return
		}
		if dist == nil {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("The dashboard is not built: run `make web` (or `make dev`, which builds it).\n"))
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(dist, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					h.Set("Cache-Control", "public, max-age=31536000, immutable") // hashed names
				} else {
					h.Set("Cache-Control", "no-cache")
				}
				http.ServeFileFS(w, r, dist, name)
				return
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			if strings.HasPrefix(name, "assets/") {
				http.NotFound(w, r)
				return
			}
		}
		index, err := fs.ReadFile(dist, "index.html")
		if err != nil {
			http.Error(w, "The dashboard is not built: run `make web`.", http.StatusNotFound)
			return
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", webContentSecurityPolicy)
		if r.Method != http.MethodHead {
			_, _ = w.Write(index)
		}
	})
}
