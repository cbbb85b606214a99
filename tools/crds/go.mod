module outfitter.local/tools/crds

go 1.26.3

require (
	github.com/controlplaneio-fluxcd/flux-operator v0.58.0
	github.com/envoyproxy/gateway v1.8.0
	sigs.k8s.io/gateway-api v1.5.1
)
