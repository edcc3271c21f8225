// Viewer-request CloudFront Function (cloudfront-js-2.0) of the redirect distribution.
// It answers a redirect itself when the request's host is in the KeyValueStore
// (records written by shared/edgekvs, which documents the format), exactly as the
// redirect function would: no origin, no region. Otherwise the request goes to the
// Lambda origin, which must receive its own Host: the viewer's is copied into
// X-Forwarded-Host (a viewer's own X-Forwarded-Host is always replaced), and as the
// origin's Origin Access Control takes GET and HEAD only, other methods get 405.
// template.yaml inlines this file (RedirectViewerRequestFunction.FunctionCode);
// template_test.go checks that the two are the same text.
import cf from 'cloudfront';
const kvs = cf.kvs();
const VERSION = 1;
const HEX = '0123456789ABCDEF';
const PAGE = '<!doctype html><html lang="en"><meta charset="utf-8"><title>';

async function get(key) {
    try {
        return await kvs.get(key, { format: 'json' });
    } catch (e) {
        return null; // no such key
    }
}

function hexv(c) {
    return c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;
}

// Bytes a Location carries escaped (reroute.MustEscapeInPath).
function must(c) {
    return c <= 32 || c >= 127 || '"#<>\\^`{|}'.indexOf(String.fromCharCode(c)) >= 0;
}

function unreserved(c) {
    return c >= 97 && c <= 122 || c >= 65 && c <= 90 || c >= 48 && c <= 57 || c == 45 || c == 46 || c == 95 || c == 126;
}

function pct(c) {
    return '%' + HEX[c >> 4] + HEX[c & 15];
}

// A path in canonical form (reroute.AppendCanonicalPath), fold: letters lowered.
function canon(p, fold) {
    var out = '';
    for (var i = 0; i < p.length; i++) {
        var c = p.charCodeAt(i);
        if (c == 37 && i + 2 < p.length && hexv(p.charCodeAt(i + 1)) >= 0 && hexv(p.charCodeAt(i + 2)) >= 0) {
            var d = hexv(p.charCodeAt(i + 1)) * 16 + hexv(p.charCodeAt(i + 2));
            i += 2;
            if (unreserved(d)) out += String.fromCharCode(fold && d >= 65 && d <= 90 ? d + 32 : d);
            else out += pct(d);
        } else if (c == 37 || must(c)) out += pct(c);
        else out += String.fromCharCode(fold && c >= 65 && c <= 90 ? c + 32 : c);
    }
    return out;
}

// A raw path or query escaped for a Location (reroute.WriteEscaped).
function esc(s) {
    var out = '';
    for (var i = 0; i < s.length; i++) {
        var c = s.charCodeAt(i);
        if (c == 37 ? i + 2 >= s.length || hexv(s.charCodeAt(i + 1)) < 0 || hexv(s.charCodeAt(i + 2)) < 0 : must(c)) out += pct(c);
        else out += s[i];
    }
    return out;
}

// The request host as routes are stored (reroute.LookupHost): "" for none,
// null for a non-ASCII one, which the origin maps to punycode.
function lookupHost(h) {
    if (!h || h.length > 260) return '';
    if (h[0] == '[') return '';
    if (/[^\x00-\x7f]/.test(h)) return null;
    var i = h.lastIndexOf(':');
    if (i >= 0) h = h.slice(0, i);
    if (h[h.length - 1] == '.') h = h.slice(0, -1);
    h = h.toLowerCase();
    return h.length <= 253 && /^([a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}$/.test(h) ? h : '';
}

// The record of the most specific route for host (reroute.Candidates): the name,
// then wildcards from the longest; no record is null. A wildcard on a public
// suffix, which Go skips, is never stored.
async function findRoute(host) {
    var v = await get(host);
    if (v !== null) return [host, v];
    var labels = host.split('.').length;
    for (var i = host.indexOf('.'); i >= 0; i = host.indexOf('.', i + 1)) {
        labels--;
        var base = host.slice(i + 1);
        if (base.indexOf('.') < 0) break;
        if (labels > 100) continue;
        v = await get('*.' + base);
        if (v !== null) return ['*.' + base, v];
    }
    return null;
}

// The Location of rule ru ([status, opts, target, pathPart, query, fragment])
// for a path suffix and query (reroute's CompiledRule.location).
function location(ru, suffix, query) {
    var addPath = ru[1] & 1 && suffix != '', addQuery = ru[1] & 2 && query != '';
    if (!addPath && !addQuery) return ru[2];
    var t = ru[2], pp = ru[3], q = ru[4], frag = ru[5];
    if (pp === undefined) {
        var h = t.indexOf('#');
        frag = h >= 0 ? t.slice(h) : '';
        if (h >= 0) t = t.slice(0, h);
        var x = t.indexOf('?');
        pp = x >= 0 ? t.slice(0, x) : t;
        q = x >= 0 ? t.slice(x + 1) : '';
    }
    var b = pp;
    if (addPath) {
        b = (pp[pp.length - 1] == '/' ? pp.slice(0, -1) : pp) + (suffix[0] != '/' ? '/' : '') + esc(suffix);
    }
    if (addQuery) b += '?' + (q ? q + '&' : '') + esc(query);
    else if (q) b += '?' + q;
    return b + frag;
}

// The rule for a path and its Location (reroute.Matcher.Match), or null.
async function match(key, rec, path, query) {
    var f = rec[0], max = rec[1], root = rec[2];
    if (!(f & 16)) return [root, location(root, path == '/' ? '' : path, query)];
    var sub = async function (k) {
        return k == '/' ? root || null : k.length > max ? null : await get(key + '|s' + k);
    };
    if (path == '') path = '/';
    var c = canon(path, false), k = f & 4 ? canon(c, true) : c, whole = k.length;
    if (f & 8 && whole > 1 && k[whole - 1] == '/') whole--;
    var w = k.slice(0, whole), n = whole, ru = null;
    if (f & 32 && whole <= max) ru = await get(key + '|e' + w);
    if (!ru) ru = await sub(w);
    for (var i = whole - 1; i > 0 && !ru; i--) {
        if (k[i] != '/') continue;
        if (i + 1 < whole && !(f & 8)) {
            ru = await sub(k.slice(0, i + 1));
            if (ru) {
                n = i + 1;
                break;
            }
        }
        ru = await sub(k.slice(0, i));
        n = i;
    }
    if (!ru && w != '/') {
        ru = root || null;
        n = k[0] == '/' ? 1 : 0;
    }
    if (!ru) return null;
    var suffix = n < c.length ? c.slice(n > 0 && c[n - 1] == '/' ? n - 1 : n) : '';
    return [ru, location(ru, suffix, query)];
}

function html(s) {
    return s.replace(/[&'<>"]/g, function (c) {
        return { '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;' }[c];
    });
}

function answer(method, status, headers, type, body) {
    headers['content-type'] = { value: type || 'text/html; charset=utf-8' };
    var r = { statusCode: status, headers: headers };
    if (method != 'HEAD') r.body = { encoding: 'text', data: body };
    return r;
}

function redirect(method, status, loc, cc, hsts) {
    var h = { location: { value: loc }, 'cache-control': { value: cc } };
    if (hsts) h['strict-transport-security'] = { value: hsts };
    var l = html(loc);
    return answer(method, status, h, '', PAGE + 'Redirecting</title><p>Redirecting to <a href="' + l + '">' + l + '</a></p></html>');
}

async function handler(event) {
    var req = event.request, method = req.method, hv = req.headers.host && req.headers.host.value;
    var path = req.uri, query = req.rawQueryString() || '', grown = 0;
    // Raw UTF-8 as the %XX of its bytes, as Go sees and escapes it.
    var utf8 = function (s) {
        var e = encodeURIComponent(s);
        grown += e.length * 2 / 3;
        return e;
    };
    var found = null;
    try {
        path = path.replace(/[^\x00-\x7f]+/g, utf8);
        query = query.replace(/[^\x00-\x7f]+/g, utf8);
        if (path.length + (query ? query.length + 1 : 0) - grown > 8192) {
            return answer(method, 414, { 'cache-control': { value: 'no-store' } }, '',
                PAGE + 'URI too long</title><h1>URI too long</h1><p>This address is longer than 8,192 bytes, which no redirect serves.</p></html>');
        }
        var host = lookupHost(hv), cfg = null;
        if (host) found = await findRoute(host);
        if (found && found[1]) cfg = await get('|config');
        if (cfg && cfg[0] === VERSION) {
            var key = found[0], rec = found[1], perm = 'public, max-age=' + cfg[1];
            var proto = req.headers['cloudfront-forwarded-proto'], secure = !(proto && proto.value.toLowerCase() == 'http');
            if (!secure && rec[0] & 1) {
                var up = 'https://' + host + (path[0] != '/' ? '/' : '') + esc(path) + (query ? '?' + esc(query) : '');
                return redirect(method, 301, up, perm);
            }
            var hsts = secure && rec[0] & 2 ? 'max-age=31536000' : '', m = await match(key, rec, path, query), fb = rec[3];
            if (!m && typeof fb == 'object') m = [fb, fb[2]];
            if (m) {
                var st = m[0][0];
                return redirect(method, st, m[1], st == 301 || st == 308 ? perm : 'no-store', hsts);
            }
            if (fb === 1) {
                var h = { 'cache-control': { value: 'public, max-age=' + cfg[2] } };
                if (hsts) h['strict-transport-security'] = { value: hsts };
                return answer(method, 410, h, '', PAGE.replace('<title>', '<meta name="viewport" content="width=device-width, initial-scale=1"><title>') +
                    'Gone</title><h1>This page is gone</h1><p>The address you asked for has been removed on purpose, and nothing replaces it.</p></html>');
            }
        }
    } catch (e) {
        // Anything unexpected (a malformed record, bad UTF-8): the origin decides.
    }
    if (method != 'GET' && method != 'HEAD') {
        return answer(method, 405, { allow: { value: 'GET, HEAD' }, 'cache-control': { value: 'no-store' } }, 'text/plain; charset=utf-8',
            'The redirect for this hostname answers GET and HEAD requests only.\n');
    }
    if (hv) req.headers['x-forwarded-host'] = { value: hv.toLowerCase() };
    else delete req.headers['x-forwarded-host'];
    return req;
}
