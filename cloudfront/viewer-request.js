// Viewer-request CloudFront Function (runtime cloudfront-js-2.0) of the redirect
// distribution. A Lambda function URL origin must receive its own Host, so the
// origin request policy never forwards the viewer's; this function copies it into
// X-Forwarded-Host, which the cache policy keys on and the redirect function reads.
// A viewer's own X-Forwarded-Host is always replaced, never trusted.
// template.yaml inlines this file (RedirectViewerRequestFunction.FunctionCode);
// template_test.go checks that the two are the same text.
function handler(event) {
    var request = event.request;
    var host = request.headers.host;
    if (host && host.value) {
        request.headers['x-forwarded-host'] = { value: host.value.toLowerCase() };
    } else {
        delete request.headers['x-forwarded-host'];
    }
    return request;
}
