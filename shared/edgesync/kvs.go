package edgesync

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	kvs "github.com/aws/aws-sdk-go-v2/service/cloudfrontkeyvaluestore"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// NewKVSClient returns the KeyValueStore data-plane client. On AWS (endpoint
// "") the SDK finds the store's endpoint from its ARN
// (<account>.cloudfront-kvs.global.api.aws) and signs with SigV4A; endpoint,
// when set (a local stand-in), is used exactly as given.
func NewKVSClient(cfg aws.Config, endpoint string) (*kvs.Client, error) {
	if endpoint == "" {
		return kvs.NewFromConfig(cfg), nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("KeyValueStore endpoint %q is not a URL", endpoint)
	}
	return kvs.NewFromConfig(cfg, func(o *kvs.Options) {
		o.EndpointResolverV2 = fixedEndpoint{u: *u}
	}), nil
}

// fixedEndpoint resolves every request to one URL (the SDK's rules would put
// the account id in front of its host).
type fixedEndpoint struct{ u url.URL }

func (f fixedEndpoint) ResolveEndpoint(context.Context, kvs.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: f.u}, nil
}
