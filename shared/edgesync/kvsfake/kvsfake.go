// Package kvsfake is an in-process fake of the CloudFront KeyValueStore data
// plane (DescribeKeyValueStore, ListKeys, GetKey, UpdateKeys), answering their
// wire shapes (REST-JSON) so the real SDK client (service/cloudfrontkeyvaluestore)
// runs against it unchanged, through its BaseEndpoint.
//
// It refuses what AWS documents refusing, each check beside the page it
// follows: an update whose If-Match is not the store's current ETag
// (ConflictException, 409), keys and values over their sizes and requests over
// their key count and payload (ValidationException, 400), a store grown past
// its size (ServiceQuotaExceededException, 402), an unknown store or key
// (ResourceNotFoundException, 404). Where the documentation leaves a rule open
// it takes the strict reading: deleting a key that does not exist, and naming
// one key twice in an update, are refused, and a refused update changes
// nothing (UpdateKeys is "a single, all-or-nothing operation").
//
// All methods are safe for concurrent use.
package kvsfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits, as AWS documents them.
const (
	// "Key size: 512 bytes", "Value size: 1 KB", "Maximum size of a key value
	// store: 5 MB", "Maximum number of keys in an UpdateKeys request: 50",
	// "Maximum request payload size for UpdateKeys: 3 MB"
	// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html,
	// "Quotas on key value stores").
	MaxKeyBytes       = 512
	MaxValueBytes     = 1024
	MaxStoreBytes     = 5 * 1024 * 1024
	MaxUpdateKeys     = 50
	MaxUpdatePayload  = 3 * 1024 * 1024
	maxListResults    = 50 // ListKeys MaxResults: "Valid Range: Minimum value of 1. Maximum value of 50." (API_kvs_ListKeys.html)
	defaultListResult = 10
)

// Fake is one key value store behind an HTTP endpoint.
type Fake struct {
	srv *httptest.Server
	arn string

	mu       sync.Mutex
	items    map[string]string
	version  int
	created  time.Time
	modified time.Time
	calls    map[string]int
	conflict int // the next updates find the store changed by another writer
	fail     int // the next requests answer 500 InternalServerException
	onUpdate func()
}

// New starts a fake store with the given ARN
// (arn:aws:cloudfront::<account>:key-value-store/<id>); Close stops it.
func New(arn string) *Fake {
	now := time.Now().UTC()
	f := &Fake{arn: arn, items: map[string]string{}, version: 1, created: now, modified: now, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the endpoint to give the SDK client as its BaseEndpoint.
func (f *Fake) URL() string { return f.srv.URL }

// HTTPClient reaches the fake whatever the request's host: the SDK's endpoint
// rules put the store's account id in front of the BaseEndpoint's host
// ("123456789012.127.0.0.1"), as they do for AWS's
// <account>.cloudfront-kvs.global.api.aws.
func (f *Fake) HTTPClient() *http.Client {
	addr := f.srv.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// ARN is the store's ARN.
func (f *Fake) ARN() string { return f.arn }

// Close stops the server.
func (f *Fake) Close() { f.srv.Close() }

// ---- knobs and inspection

// Items returns a copy of the store's keys and values.
func (f *Fake) Items() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]string, len(f.items))
	for k, v := range f.items {
		out[k] = v
	}
	return out
}

// Set writes a key behind the API's back (drift, or another writer): the
// ETag moves on. An empty value deletes the key.
func (f *Fake) Set(key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if value == "" {
		delete(f.items, key)
	} else {
		f.items[key] = value
	}
	f.touch()
}

// ConflictNext makes the next n UpdateKeys find that another writer changed the
// store since its ETag was read: the ETag moves on just before each is handled.
func (f *Fake) ConflictNext(n int) { f.mu.Lock(); f.conflict = n; f.mu.Unlock() }

// FailNext makes the next n requests answer 500 InternalServerException.
func (f *Fake) FailNext(n int) { f.mu.Lock(); f.fail = n; f.mu.Unlock() }

// OnUpdate calls fn (unlocked) after each successful UpdateKeys.
func (f *Fake) OnUpdate(fn func()) { f.mu.Lock(); f.onUpdate = fn; f.mu.Unlock() }

// Calls is how many requests of an operation ("UpdateKeys", ...) were answered.
func (f *Fake) Calls(op string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls[op] }

// Size is the store's TotalSizeInBytes: its keys' and values' bytes.
func (f *Fake) Size() int { f.mu.Lock(); defer f.mu.Unlock(); return f.size() }

func (f *Fake) size() int {
	n := 0
	for k, v := range f.items {
		n += len(k) + len(v)
	}
	return n
}

func (f *Fake) etag() string { return "ETVPDKIKX0DER" + strconv.Itoa(f.version) }

func (f *Fake) touch() {
	f.version++
	f.modified = time.Now().UTC()
}

// ---- the wire

type apiError struct {
	status int
	code   string
	msg    string
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status, code, fmt.Sprintf(format, args...)}
}

// Error statuses of the data plane (for example
// https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_UpdateKeys.html#API_kvs_UpdateKeys_Errors).
func validation(format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, "ValidationException", format, args...)
}

func notFound(format string, args ...any) *apiError {
	return errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	// The ARN and the key are path segments, escaped ('/' as %2F).
	raw := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			writeErr(w, validation("malformed path"))
			return
		}
		segs[i] = u
	}
	if r.Header.Get("Authorization") == "" {
		writeErr(w, errorf(http.StatusForbidden, "AccessDeniedException", "the request is not signed"))
		return
	}
	f.mu.Lock()
	if f.fail > 0 {
		f.fail--
		f.mu.Unlock()
		writeErr(w, errorf(http.StatusInternalServerError, "InternalServerException", "internal error"))
		return
	}
	f.mu.Unlock()
	if len(segs) < 2 || segs[0] != "key-value-stores" {
		writeErr(w, notFound("no such operation"))
		return
	}
	if segs[1] != f.arn {
		writeErr(w, notFound("no key value store %s", segs[1]))
		return
	}
	var op string
	var out any
	var etag string
	var e *apiError
	switch {
	case len(segs) == 2 && r.Method == http.MethodGet:
		op = "DescribeKeyValueStore"
		out, etag = f.describe()
	case len(segs) == 3 && segs[2] == "keys" && r.Method == http.MethodGet:
		op = "ListKeys"
		out, e = f.list(r.URL.Query())
	case len(segs) == 4 && segs[2] == "keys" && r.Method == http.MethodGet:
		op = "GetKey"
		out, e = f.get(segs[3])
	case len(segs) == 3 && segs[2] == "keys" && r.Method == http.MethodPost:
		op = "UpdateKeys"
		out, etag, e = f.update(r)
	default:
		writeErr(w, validation("%s %s is not an operation this fake serves", r.Method, r.URL.Path))
		return
	}
	if e != nil {
		writeErr(w, e)
		return
	}
	f.mu.Lock()
	f.calls[op]++
	fn := f.onUpdate
	f.mu.Unlock()
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
	if op == "UpdateKeys" && fn != nil {
		fn()
	}
}

func writeErr(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Message": e.msg})
}

// describe answers DescribeKeyValueStore
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_DescribeKeyValueStore.html).
func (f *Fake) describe() (any, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return map[string]any{
		"KvsARN": f.arn, "ItemCount": len(f.items), "TotalSizeInBytes": f.size(),
		"Created": f.created.Unix(), "LastModified": f.modified.Unix(), "Status": "READY",
	}, f.etag()
}

// list answers ListKeys in key order; NextToken is the last key of the page
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_ListKeys.html).
func (f *Fake) list(q url.Values) (any, *apiError) {
	max := defaultListResult
	if s := q.Get("MaxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListResults {
			return nil, validation("MaxResults must be between 1 and %d", maxListResults)
		}
		max = n
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.items))
	for k := range f.items {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	start := 0
	if tok := q.Get("NextToken"); tok != "" {
		after, err := url.QueryUnescape(tok)
		if err != nil || !strings.HasPrefix(after, "k:") {
			return nil, validation("invalid NextToken")
		}
		start, _ = slices.BinarySearch(keys, after[2:])
		if start < len(keys) && keys[start] == after[2:] {
			start++
		}
	}
	items := []map[string]string{}
	end := min(start+max, len(keys))
	for _, k := range keys[start:end] {
		items = append(items, map[string]string{"Key": k, "Value": f.items[k]})
	}
	out := map[string]any{"Items": items}
	if end < len(keys) {
		out["NextToken"] = "k:" + keys[end-1]
	}
	return out, nil
}

// get answers GetKey
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_GetKey.html).
func (f *Fake) get(key string) (any, *apiError) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.items[key]
	if !ok {
		return nil, notFound("no key %q", key)
	}
	return map[string]any{"Key": key, "Value": v, "ItemCount": len(f.items), "TotalSizeInBytes": f.size()}, nil
}

type updateBody struct {
	Puts    []struct{ Key, Value *string }
	Deletes []struct{ Key *string }
}

// update answers UpdateKeys
// (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_kvs_UpdateKeys.html):
// all or nothing, on condition that If-Match is the store's ETag.
func (f *Fake) update(r *http.Request) (any, string, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxUpdatePayload+1))
	if err != nil {
		return nil, "", validation("reading the request: %v", err)
	}
	// "Maximum request payload size for UpdateKeys: 3 MB" (cloudfront-limits.html).
	if len(body) > MaxUpdatePayload {
		return nil, "", validation("the request payload is over %d bytes", MaxUpdatePayload)
	}
	var in updateBody
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, "", validation("malformed request body: %v", err)
	}
	// "Maximum number of keys in an UpdateKeys request: 50" (cloudfront-limits.html).
	if n := len(in.Puts) + len(in.Deletes); n > MaxUpdateKeys {
		return nil, "", validation("%d keys in one request, more than %d", n, MaxUpdateKeys)
	}
	seen := map[string]bool{}
	check := func(k *string) *apiError {
		switch {
		case k == nil || *k == "":
			return validation("a key is required")
		// "Key size: 512 bytes" (cloudfront-limits.html).
		case len(*k) > MaxKeyBytes:
			return validation("key %q is over %d bytes", (*k)[:32], MaxKeyBytes)
		case seen[*k]:
			return validation("key %q appears twice in one request", *k)
		}
		seen[*k] = true
		return nil
	}
	for _, p := range in.Puts {
		if e := check(p.Key); e != nil {
			return nil, "", e
		}
		// "Value size: 1 KB" (cloudfront-limits.html); Value is required.
		if p.Value == nil {
			return nil, "", validation("a value is required for key %q", *p.Key)
		}
		if len(*p.Value) > MaxValueBytes {
			return nil, "", validation("the value of key %q is over %d bytes", *p.Key, MaxValueBytes)
		}
	}
	for _, d := range in.Deletes {
		if e := check(d.Key); e != nil {
			return nil, "", e
		}
	}
	ifMatch := r.Header.Get("If-Match")
	if ifMatch == "" {
		return nil, "", validation("If-Match is required")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conflict > 0 {
		f.conflict--
		f.touch()
	}
	// "ConflictException: Resource is not in expected state. HTTP Status Code: 409"
	if ifMatch != f.etag() {
		return nil, "", errorf(http.StatusConflict, "ConflictException", "the key value store changed: its ETag is no longer %s", ifMatch)
	}
	size := f.size()
	for _, d := range in.Deletes {
		v, ok := f.items[*d.Key]
		if !ok {
			return nil, "", notFound("no key %q to delete", *d.Key)
		}
		size -= len(*d.Key) + len(v)
	}
	for _, p := range in.Puts {
		if v, ok := f.items[*p.Key]; ok {
			size -= len(*p.Key) + len(v)
		}
		size += len(*p.Key) + len(*p.Value)
	}
	// "ServiceQuotaExceededException: Limit exceeded. HTTP Status Code: 402",
	// for a store past "Maximum size of a key value store: 5 MB".
	if size > MaxStoreBytes {
		return nil, "", errorf(http.StatusPaymentRequired, "ServiceQuotaExceededException",
			"the key value store would hold %d bytes, more than %d", size, MaxStoreBytes)
	}
	for _, d := range in.Deletes {
		delete(f.items, *d.Key)
	}
	for _, p := range in.Puts {
		f.items[*p.Key] = *p.Value
	}
	f.touch()
	return map[string]any{"ItemCount": len(f.items), "TotalSizeInBytes": f.size()}, f.etag(), nil
}
