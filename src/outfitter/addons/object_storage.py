"""Object storage: the S3 contract Velero, Loki, Tempo and Longhorn consume.

The MinIO community edition was archived and its images withdrawn (2026), so the default is
SeaweedFS, a maintained S3 server with a published chart, in its all-in-one mode (one pod:
master, volume, filer and S3 gateway — right for a homelab). MinIO stays available for those
who keep it; Garage (chart not published to a Helm repository, so it comes from Git); or an
external endpoint such as a Synology NAS, where outfitter installs nothing.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from outfitter import yamlio
from outfitter.addons.base import (
    Addon,
    AddonOptions,
    Chart,
    Priority,
    ProfileProblem,
    Rendered,
    Workload,
    options_of,
)
from outfitter.addons.context import Context
from outfitter.addons.storage_contract import ObjectStore
from outfitter.config import Profile

Provider = Literal["seaweedfs", "minio", "garage", "external"]

SEAWEEDFS = Chart("seaweedfs", "4.44.0", "https://seaweedfs.github.io/seaweedfs/helm")
MINIO = Chart("minio", "5.4.0", "https://charts.min.io/")
GARAGE = Chart("garage", "0.8.0", "https://github.com/deuxfleurs-org/garage",
               git_path="script/helm/garage", git_ref="v2.0.0")


_JOB_RESOURCES = {"requests": {"cpu": "10m", "memory": "64Mi"},
                  "limits": {"cpu": "200m", "memory": "128Mi"}}


class ObjectStorageOptions(AddonOptions):
    provider: Provider = "seaweedfs"
    endpoint: str | None = Field(
        None, description="S3 endpoint; required for external, derived for in-cluster servers")
    region: str = "us-east-1"
    credentials_item: str = Field(
        "object-storage", alias="credentialsItem",
        description="secret store item with access-key-id and secret-access-key")
    size: str = Field("50Gi", description="volume size of an in-cluster server")


def _options(profile: Profile) -> ObjectStorageOptions:
    return options_of(profile, "object-storage", ObjectStorageOptions)


def _seaweedfs_non_root() -> dict[str, Any]:
    """SeaweedFS's image starts as root only to chown /data before dropping to its own user;
    the chart runs `weed` directly, so a fixed user and fsGroup (the volume is made writable
    for the group) need no root at all. The chart applies a context only with `enabled`."""
    return {
        "podSecurityContext": {"enabled": True, "runAsNonRoot": True, "runAsUser": 1000,
                               "runAsGroup": 1000, "fsGroup": 1000,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"enabled": True, "allowPrivilegeEscalation": False,
                                     "capabilities": {"drop": ["ALL"]}},
    }


class ObjectStorage(Addon):
    name = "object-storage"
    title = "Object storage (S3)"
    namespace = "object-storage"
    stateful = True
    mesh = "enabled"
    priority = Priority.HIGH
    roadmap_names = ("minio", "object storage", "s3", "seaweedfs", "garage")
    roadmap_capabilities = ("object storage", "object store", "s3", "s3-compatible",
                            "s3 compatible storage", "s3 endpoint", "s3 buckets", "storage")
    Options = ObjectStorageOptions
    documented_in_comments = {  # noqa: RUF012 (read-only class data)
        "seaweedfs": ("allInOne.s3.createBuckets",),
        "garage": ("persistence.meta.storageClass", "persistence.data.storageClass"),
    }

    def provider(self, profile: Profile) -> Provider:
        return _options(profile).provider

    def chart_for(self, ctx: Context) -> Chart | None:
        return {"seaweedfs": SEAWEEDFS, "minio": MINIO, "garage": GARAGE}.get(
            self.provider(ctx.profile))

    def release_for(self, profile: Profile) -> str:
        # The provider's own name, so its Services keep the names its docs use.
        return self.provider(profile)

    def workloads_for(self, profile: Profile) -> tuple[Workload, ...]:
        provider = self.provider(profile)
        if provider == "seaweedfs":
            return (Workload("seaweedfs-all-in-one", "Deployment", "allInOne.resources"),)
        if provider == "minio":
            return (Workload("minio", "Deployment", "resources", replicas_path="replicas"),)
        if provider == "garage":
            return (Workload("garage", "StatefulSet", "resources",
                             replicas_path="deployment.replicaCount"),)
        return ()

    def object_store(self, profile: Profile) -> ObjectStore:
        opts = _options(profile)
        # Each chart names its Service from the release (Helm's fullname rule), so the
        # endpoint follows where the server runs: outfitter's release or the adopted one.
        where = self.placement(profile)
        default_endpoint = {
            "seaweedfs": f"http://{where.fullname('seaweedfs')}-all-in-one.{where.namespace}"
                         f".svc:8333",
            "minio": f"http://{where.fullname('minio')}.{where.namespace}.svc:9000",
            "garage": f"http://{where.fullname('garage')}.{where.namespace}.svc:3900",
        }
        endpoint = opts.endpoint or default_endpoint.get(opts.provider, "")
        region = "garage" if opts.provider == "garage" and opts.region == "us-east-1" \
            else opts.region
        return ObjectStore(
            provider=opts.provider, endpoint=endpoint, region=region,
            credentials_item=opts.credentials_item, insecure=endpoint.startswith("http://"),
        )

    def check_profile(self, profile: Profile) -> list[ProfileProblem]:
        opts = _options(profile)
        problems = []
        if opts.provider == "external" and not opts.endpoint:
            problems.append(ProfileProblem(
                "endpoint", "an external object store needs its endpoint, e.g. "
                "https://nas.home.example.com:9000"))
        if opts.endpoint and not opts.endpoint.startswith(("http://", "https://")):
            problems.append(ProfileProblem("endpoint", "must start with http:// or https://"))
        return problems

    def values(self, ctx: Context) -> dict[str, Any]:
        opts = _options(ctx.profile)
        storage_class = ctx.profile.cluster.storage_class
        if opts.provider == "seaweedfs":
            return {
                "master": {"enabled": False},
                "volume": {"enabled": False},
                # Disabled, but the bucket hook Job takes the filer's security contexts.
                "filer": {"enabled": False, **_seaweedfs_non_root()},
                "allInOne": {
                    "enabled": True,
                    **_seaweedfs_non_root(),
                    "s3": {
                        "enabled": True,
                        "enableAuth": True,
                        "existingConfigSecret": "seaweedfs-s3-config",
                        "createBuckets": [{"name": b} for b in ctx.buckets],
                        # The post-install hook Job that creates the buckets.
                        "createBucketsHook": {"resources": {
                            "requests": {"cpu": "10m", "memory": "64Mi"},
                            "limits": {"cpu": "200m", "memory": "256Mi"}}},
                    },
                    "data": {"type": "persistentVolumeClaim", "size": opts.size,
                             "storageClass": storage_class},
                    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                  "limits": {"cpu": "1", "memory": "1Gi"}},
                },
            }
        if opts.provider == "minio":
            return {
                "mode": "standalone",
                "replicas": 1,
                "existingSecret": "minio-root",
                "persistence": {"enabled": True, "size": opts.size,
                                "storageClass": storage_class},
                "resources": {"requests": {"cpu": "100m", "memory": "512Mi"},
                              "limits": {"cpu": "1", "memory": "1Gi"}},
                "buckets": [{"name": b, "policy": "none", "purge": False} for b in ctx.buckets],
                # The post-install Jobs that create the buckets and the user (the chart
                # requests memory only).
                "makeBucketJob": {"resources": _JOB_RESOURCES},
                "makeUserJob": {"resources": _JOB_RESOURCES},
                "metrics": {"serviceMonitor": {"enabled": ctx.monitoring,
                                               "additionalLabels": ctx.monitoring_labels}},
            }
        if opts.provider == "garage":
            return {
                "garage": {"replicationFactor": "1", "s3": {"api": {"region": "garage"}}},
                "deployment": {"replicaCount": 1},
                "persistence": {"meta": {"storageClass": storage_class},
                                "data": {"storageClass": storage_class, "size": opts.size}},
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                              "limits": {"cpu": "1", "memory": "1Gi"}},
            }
        return {}

    def post_renderers(self, ctx: Context) -> list[dict[str, Any]]:
        if _options(ctx.profile).provider != "garage":
            return []
        # Garage's chart takes no resources for its init container (it waits for the
        # metadata volume and exits).
        patch = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "garage"},
                 "spec": {"template": {"spec": {"initContainers": [{
                     "name": "garage-init", "resources": _JOB_RESOURCES}]}}}}
        return [{"kustomize": {"patches": [{"target": {"kind": "StatefulSet",
                                                       "name": "garage"},
                                            "patch": yamlio.dump(patch)}]}}]

    def resources(self, ctx: Context) -> Rendered:
        opts = _options(ctx.profile)
        out = Rendered()
        if opts.provider == "seaweedfs":
            identities = {"identities": [{
                "name": "outfitter",
                "credentials": [{"accessKey": "{{ .access_key_id }}",
                                 "secretKey": "{{ .secret_access_key }}"}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]}
            out.app.append(ctx.object_store_secret(
                "seaweedfs-s3-config", self.namespace,
                template={"seaweedfs_s3_config": json.dumps(identities, indent=2)}))
        elif opts.provider == "minio":
            out.app.append(ctx.object_store_secret(
                "minio-root", self.namespace,
                template={"rootUser": "{{ .access_key_id }}",
                          "rootPassword": "{{ .secret_access_key }}"}))
        return out

    def notes(self, ctx: Context) -> list[str]:
        opts = _options(ctx.profile)
        buckets = ", ".join(ctx.buckets) or "none"
        notes = {
            "seaweedfs": [f"SeaweedFS all-in-one serves S3; buckets created by its chart: "
                          f"{buckets}."],
            "minio": ["MinIO's community edition is archived and its images were withdrawn: "
                      "you keep running an unmaintained server. Consider provider seaweedfs "
                      "or garage.",
                      f"Buckets created by the MinIO chart: {buckets}."],
            "garage": [f"Garage's chart is not published to a Helm repository; Flux reads it "
                       f"from Git at {GARAGE.git_ref}. Garage needs a one-time layout assignment "
                       f"and key import; create buckets {buckets} with `garage bucket create`."],
            "external": [f"External S3 at {opts.endpoint}: create buckets {buckets} there "
                         f"and put the access key in item '{opts.credentials_item}'."],
        }
        return notes[opts.provider]


ADDON = ObjectStorage()
