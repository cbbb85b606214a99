"""A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and KWOK-simulated nodes, all run as local processes on 127.0.0.1.

The binaries come from ``tools/build.sh`` (built from Go modules; this machine runs no
containers). Nothing listens anywhere but 127.0.0.1 and every port is picked at random, so
several control planes can run side by side.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import datetime as dt
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lightkube import ApiError, Client, KubeConfig
from lightkube.models.core_v1 import NodeStatus
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Node, ServiceAccount

from outfitter.tools_dir import tools_base_dir, tools_bin_dir

# What a control plane needs; the stage file sits next to bin/, the rest inside it.
STAGES_FILE = "kwok-stages.yaml"
CONTROL_PLANE_TOOLS: tuple[str, ...] = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    STAGES_FILE,
)

FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
# First address of the service range: the `kubernetes` Service, so it goes in the serving cert.
KUBERNETES_SERVICE_IP = "10.96.0.1"
# Controllers that only log "no cloud provider" in 1.36; dropped to keep the log quiet.
_CLOUD_CONTROLLERS = ("cloud-node-lifecycle-controller", "node-route-controller",
                      "service-lb-controller")


class ControlPlaneError(RuntimeError):
    """The control plane failed to start; the message carries the relevant log's tail."""


def _tool_path(name: str) -> Path:
    # Data files (the KWOK stages) live beside bin/, executables inside it.
    if name.endswith((".yaml", ".yml")):
        return tools_base_dir() / name
    return tools_bin_dir() / name


def missing_tools(names: Iterable[str] = CONTROL_PLANE_TOOLS) -> list[str]:
    """The names among ``names`` that tools/build.sh has not built (yet)."""
    missing = []
    for name in names:
        path = _tool_path(name)
        ok = path.is_file() and (name.endswith((".yaml", ".yml")) or os.access(path, os.X_OK))
        if not ok:
            missing.append(name)
    return missing


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the kernel picks it; the tiny reuse race is accepted)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------
# Certificates


@dataclass(frozen=True)
class _Pki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    sa_key: Path
    sa_pub: Path
    front_proxy_ca: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool = False,
    usages: Sequence[x509.ObjectIdentifier] = (),
    sans: Sequence[x509.GeneralName] = (),
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # Back-dated a little so clock jitter between processes never makes it "not yet valid".
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 if ca else 30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, key_encipherment=True,
                          key_cert_sign=False, crl_sign=False, content_commitment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        ).add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _make_pki(folder: Path) -> _Pki:
    """CA, apiserver serving cert, admin client cert and the service-account key pair.

    ECDSA P-256 for the certificates because generating it is instant; the service-account
    key is RSA as asked (and what every Kubernetes token verifier accepts)."""
    folder.mkdir(parents=True, exist_ok=True)
    pki = _Pki(*(folder / n for n in ("ca.crt", "ca.key", "apiserver.crt", "apiserver.key",
                                       "admin.crt", "admin.key", "sa.key", "sa.pub",
                                       "front-proxy-ca.crt")))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outfitter-test-ca")])
    ca_cert = _issue(ca_name, ca_key, ca_name, ca_key, ca=True)
    _write_key(pki.ca_key, ca_key)
    _write_cert(pki.ca_cert, ca_cert)

    serving_key = ec.generate_private_key(ec.SECP256R1())
    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc.cluster.local"]
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    sans += [x509.IPAddress(ipaddress.ip_address(ip))
             for ip in ("127.0.0.1", KUBERNETES_SERVICE_IP)]
    serving = _issue(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
                     serving_key, ca_name, ca_key,
                     usages=[ExtendedKeyUsageOID.SERVER_AUTH], sans=sans)
    _write_key(pki.serving_key, serving_key)
    _write_cert(pki.serving_cert, serving)

    # O=system:masters is bound to cluster-admin by the default RBAC policy.
    admin_key = ec.generate_private_key(ec.SECP256R1())
    admin_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                            x509.NameAttribute(NameOID.COMMON_NAME, "admin")])
    admin = _issue(admin_name, admin_key, ca_name, ca_key,
                   usages=[ExtendedKeyUsageOID.CLIENT_AUTH])
    _write_key(pki.admin_key, admin_key)
    _write_cert(pki.admin_cert, admin)

    # Only its certificate is needed (see --requestheader-client-ca-file); the key is dropped.
    fp_key = ec.generate_private_key(ec.SECP256R1())
    fp_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "outfitter-front-proxy-ca")])
    _write_cert(pki.front_proxy_ca, _issue(fp_name, fp_key, fp_name, fp_key, ca=True))

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write_key(pki.sa_key, sa_key)
    pki.sa_pub.write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return pki


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


# ---------------------------------------------------------------------------------------------
# Processes


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec hook (Linux only) asking the kernel to SIGKILL the child when the process
    that started it dies, so a crashed test run leaves no orphaned apiserver behind. SIGKILL,
    not SIGTERM: orphans all shutting down gracefully at once linger for up to a minute (the
    apiserver keeps retrying an etcd that is already gone).

    libc is resolved here, in the parent: the hook runs between fork and exec, where importing
    or loading anything could deadlock. (The signal follows the *thread* that forked, so start
    a ControlPlane from a thread that outlives it — the main thread, in pytest.)"""
    if sys.platform != "linux":
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig, sigkill = 1, int(signal.SIGKILL)

    def hook() -> None:
        prctl(pr_set_pdeathsig, sigkill)

    return hook


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    log_file: IO[bytes] = field(repr=False)
    # Stop order: higher tiers first (0 = etcd, 1 = apiserver, 2 = its clients).
    tier: int = 2

    def check_alive(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise ControlPlaneError(
                f"{self.name} exited with code {code}; last lines of {self.log}:\n"
                f"{_tail(self.log)}")


class ControlPlane:
    """A throwaway control plane with ``nodes`` KWOK-simulated nodes.

    >>> with ControlPlane(nodes=3) as cp:
    ...     client = cp.client()

    KWOK's stock pod stages wait 1-5s at each step (and until the grace period ends on
    delete), so a rollout takes ~10s; unless ``pod_delays`` is true those delays are removed
    (per-pod ``pod-*.stage.kwok.x-k8s.io/delay`` annotations still apply).

    Attributes set once started: ``kubeconfig`` (admin, certs embedded), ``server`` (the
    apiserver URL), ``workdir``, ``ca_file`` and ``nodes`` (the node names).
    """

    def __init__(
        self,
        nodes: int = 3,
        workdir: str | os.PathLike[str] | None = None,
        *,
        node_cpu: str = "4",
        node_memory: str = "16Gi",
        node_pods: int = 110,
        keep: bool | None = None,
        startup_timeout: float = 120.0,
        verbosity: int = 1,
        pod_delays: bool = False,
    ) -> None:
        if nodes < 0:
            raise ValueError("nodes must be >= 0")
        self.node_count = nodes
        self.nodes: list[str] = [f"node-{i}" for i in range(1, nodes + 1)]
        self.node_cpu = node_cpu
        self.node_memory = node_memory
        self.node_pods = node_pods
        self._given_workdir = Path(workdir) if workdir is not None else None
        # A workdir the caller chose is theirs: keep it unless told otherwise.
        self.keep = keep if keep is not None else workdir is not None
        self.startup_timeout = startup_timeout
        self.verbosity = verbosity
        self.pod_delays = pod_delays
        self.bin_dir = tools_bin_dir()
        self.stages_file = tools_base_dir() / STAGES_FILE

        self.workdir: Path = self._given_workdir or Path()
        self.kubeconfig: Path = Path()
        self.ca_file: Path = Path()
        self.server: str = ""
        self.ports: dict[str, int] = {}
        self.startup_seconds: float | None = None
        self._procs: list[_Proc] = []
        self._started = False

    # -- context manager --------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- public -----------------------------------------------------------------------------

    def start(self) -> Self:
        if self._started:
            raise ControlPlaneError("control plane already started")
        missing = missing_tools()
        if missing:
            raise ControlPlaneError(
                f"missing {', '.join(missing)} in {tools_base_dir()}: run tools/build.sh")
        began = time.monotonic()
        self._started = True
        try:
            self._start()
        except BaseException:
            # Leave nothing running behind a failed start (including Ctrl-C mid-way).
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the processes tier by tier (clients, then the apiserver, then etcd, so
        nothing hangs retrying a store that is already gone), SIGKILL whatever outlives
        ``timeout`` per tier, then remove the workdir unless ``keep``."""
        procs, self._procs = self._procs, []
        for tier in sorted({p.tier for p in procs}, reverse=True):
            group = [p for p in procs if p.tier == tier]
            for proc in group:
                if proc.popen.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        proc.popen.terminate()
            deadline = time.monotonic() + timeout
            for proc in group:
                try:
                    proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        proc.popen.kill()
                    proc.popen.wait()
                proc.log_file.close()
        if self._started and not self.keep and self.workdir != Path():
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._started = False

    def client(self, **kwargs: Any) -> Client:
        """A lightkube Client acting as the admin (system:masters)."""
        return Client(KubeConfig.from_file(self.kubeconfig), **kwargs)

    def log(self, name: str) -> Path:
        """The log file of one component (etcd, kube-apiserver, ...)."""
        return self.workdir / f"{name}.log"

    # -- start-up steps ---------------------------------------------------------------------

    def _start(self) -> None:
        if self._given_workdir is not None:
            self._given_workdir.mkdir(parents=True, exist_ok=True)
            self.workdir = self._given_workdir.resolve()
            # A reused workdir still holds the last cluster's store, signed by an old CA.
            shutil.rmtree(self.workdir / "etcd", ignore_errors=True)
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="outfitter-cp-"))
        pki = _make_pki(self.workdir / "pki")
        self.ca_file = pki.ca_cert
        for name in ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler", "kwok"):
            self.ports[name] = free_port()
        self.server = f"https://127.0.0.1:{self.ports['apiserver']}"
        deadline = time.monotonic() + self.startup_timeout

        etcd = self._start_etcd()
        self._wait_http(etcd, f"http://127.0.0.1:{self.ports['etcd']}/health", deadline,
                        ok=lambda r: r.status_code == 200 and '"true"' in r.text)

        apiserver = self._start_apiserver(pki)
        self._wait_http(apiserver, f"{self.server}/readyz", deadline,
                        verify=self._admin_ssl_context(pki))
        self._write_kubeconfig(pki)

        kcm = self._start_controller_manager(pki)
        scheduler = self._start_scheduler()
        kwok = self._start_kwok()
        # Both serve self-signed certs; /healthz is on their always-allowed path list.
        self._wait_http(kcm, f"https://127.0.0.1:{self.ports['controller-manager']}/healthz",
                        deadline, verify=False)
        self._wait_http(scheduler, f"https://127.0.0.1:{self.ports['scheduler']}/healthz",
                        deadline, verify=False)
        self._wait_http(kwok, f"http://127.0.0.1:{self.ports['kwok']}/healthz", deadline)
        self._create_nodes(deadline)
        self._wait_controllers(kcm, deadline)

    def _spawn(self, name: str, args: Sequence[str], tier: int = 2) -> _Proc:
        log = self.log(name)
        log_file = log.open("wb")
        log_file.write(f"+ {' '.join(args)}\n".encode())
        log_file.flush()
        popen = subprocess.Popen(
            list(args), stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            cwd=self.workdir,
            # Own session: a terminal Ctrl-C reaches only us, and we stop them in order.
            start_new_session=True, preexec_fn=_parent_death_signal(),
        )
        proc = _Proc(name, popen, log, log_file, tier)
        self._procs.append(proc)
        return proc

    def _bin(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _start_etcd(self) -> _Proc:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        return self._spawn("etcd", [
            self._bin("etcd"),
            "--name=default",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            # Test data is disposable: skipping fsync makes every write much cheaper.
            "--unsafe-no-fsync",
            "--log-level=warn",
        ], tier=0)

    def _start_apiserver(self, pki: _Pki) -> _Proc:
        return self._spawn("kube-apiserver", [
            self._bin("kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            "--authorization-mode=Node,RBAC",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            # The `kubernetes` Endpoints may not hold a loopback address, so the default
            # (lease) reconciler fails every 10s against 127.0.0.1; nothing here needs it.
            "--endpoint-reconciler-type=none",
            # Publishes a request-header CA in extension-apiserver-authentication, which the
            # controller-manager's and scheduler's delegated authn otherwise log an error about
            # every few seconds. A CA of its own, with no client cert ever issued from it.
            f"--requestheader-client-ca-file={pki.front_proxy_ca}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--profiling=false",
            # As kubeadm, k3s and Talos run it: node agents (Longhorn's manager, a
            # privileged Falco) are refused otherwise, which no real cluster does.
            "--allow-privileged=true",
            f"--v={self.verbosity}",
        ], tier=1)

    def _start_controller_manager(self, pki: _Pki) -> _Proc:
        controllers = ",".join(["*", *(f"-{c}" for c in _CLOUD_CONTROLLERS)])
        kubeconfig = str(self.kubeconfig)
        return self._spawn("kube-controller-manager", [
            self._bin("kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            # Delegated authn/authz for its own /healthz etc.; without them it only warns.
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            f"--cluster-signing-cert-file={pki.ca_cert}",
            f"--cluster-signing-key-file={pki.ca_key}",
            "--use-service-account-credentials",
            "--leader-elect=false",
            f"--controllers={controllers}",
            # The default client rate limit (20 qps) makes setting up ~50 controllers with
            # their own service-account credentials take ~5s; a local apiserver takes more.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports['controller-manager']}",
            f"--cert-dir={self.workdir / 'controller-manager-certs'}",
            # Its default is under /usr/libexec, which it would otherwise create on the host.
            f"--flex-volume-plugin-dir={self.workdir / 'flexvolume'}",
            "--profiling=false",
            f"--v={self.verbosity}",
        ])

    def _start_scheduler(self) -> _Proc:
        kubeconfig = str(self.kubeconfig)
        return self._spawn("kube-scheduler", [
            self._bin("kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports['scheduler']}",
            f"--cert-dir={self.workdir / 'scheduler-certs'}",
            "--profiling=false",
            f"--v={self.verbosity}",
        ])

    def _write_stages(self) -> Path:
        """The stage file kwok runs with: the built one, or a copy whose pod stages have
        no default delay (node stages untouched — the heartbeat needs its interval)."""
        if self.pod_delays:
            return self.stages_file
        docs = [d for d in yaml.safe_load_all(self.stages_file.read_text()) if d]
        for doc in docs:
            spec = doc.get("spec") or {}
            delay = spec.get("delay")
            if spec.get("resourceRef", {}).get("kind") != "Pod" or not delay:
                continue
            delay["durationMilliseconds"] = 0
            delay.pop("jitterDurationMilliseconds", None)
            # pod-delete otherwise waits out the grace period (deletionTimestamp).
            jitter_from = delay.get("jitterDurationFrom", {}).get("expressionFrom", "")
            if "deletionTimestamp" in jitter_from:
                delay.pop("jitterDurationFrom")
        path = self.workdir / STAGES_FILE
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        return path

    def _start_kwok(self) -> _Proc:
        return self._spawn("kwok", [
            self._bin("kwok"),
            f"--kubeconfig={self.kubeconfig}",
            # Only our annotated nodes: kwok must never touch a node it did not create.
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={FAKE_NODE_ANNOTATION}=fake",
            f"--config={self._write_stages()}",
            f"--server-address=127.0.0.1:{self.ports['kwok']}",
            "--node-ip=127.0.0.1",
            # Nodes advertise kwok's own server as their kubelet endpoint (logs, exec).
            f"--node-port={self.ports['kwok']}",
            "--cidr=10.0.0.1/24",
        ])

    def _admin_ssl_context(self, pki: _Pki) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(pki.ca_cert))
        ctx.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        return ctx

    def _wait_http(
        self,
        proc: _Proc,
        url: str,
        deadline: float,
        *,
        verify: ssl.SSLContext | bool = True,
        ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
    ) -> None:
        """Poll ``url`` until ``ok``; fail early (with the log) if the process dies."""
        last = "no answer yet"
        with httpx.Client(verify=verify, timeout=5.0, trust_env=False) as http:
            while True:
                proc.check_alive()
                try:
                    resp = http.get(url)
                    if ok(resp):
                        return
                    last = f"HTTP {resp.status_code}: {resp.text[:500]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    raise ControlPlaneError(
                        f"{proc.name} not ready at {url} after {self.startup_timeout:.0f}s "
                        f"({last}); last lines of {proc.log}:\n{_tail(proc.log)}")
                time.sleep(0.2)

    def _write_kubeconfig(self, pki: _Pki) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "outfitter-test", "cluster": {
                "server": self.server,
                "certificate-authority-data": _b64(pki.ca_cert),
            }}],
            "users": [{"name": "admin", "user": {
                "client-certificate-data": _b64(pki.admin_cert),
                "client-key-data": _b64(pki.admin_key),
            }}],
            "contexts": [{"name": "outfitter-test",
                          "context": {"cluster": "outfitter-test", "user": "admin"}}],
            "current-context": "outfitter-test",
        }
        self.kubeconfig = self.workdir / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)

    def _node(self, name: str) -> Node:
        resources = {"cpu": self.node_cpu, "memory": self.node_memory,
                     "pods": str(self.node_pods)}
        # The status is accepted on create (as a kubelet registering does); KWOK's
        # node-initialize stage keeps capacity/allocatable and adds conditions + addresses.
        return Node(
            metadata=ObjectMeta(
                name=name,
                annotations={FAKE_NODE_ANNOTATION: "fake"},
                labels={"type": "kwok", "kubernetes.io/hostname": name,
                        "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"},
            ),
            status=NodeStatus(capacity=dict(resources), allocatable=dict(resources)),
        )

    def _wait_controllers(self, kcm: _Proc, deadline: float) -> None:
        """Its /healthz answers long before the controllers run; they are all started
        together, so the `default` ServiceAccount in `default` (made by one of them) marks
        the moment a Deployment or a namespace deletion would actually be acted on."""
        with self.client() as client:
            while True:
                kcm.check_alive()
                try:
                    client.get(ServiceAccount, "default", namespace="default")
                    return
                except ApiError as exc:
                    if exc.status.code != 404:
                        raise
                if time.monotonic() > deadline:
                    raise ControlPlaneError(
                        f"controllers not running after {self.startup_timeout:.0f}s (no default "
                        f"ServiceAccount); last lines of {kcm.log}:\n{_tail(kcm.log)}")
                time.sleep(0.2)

    def _create_nodes(self, deadline: float) -> None:
        kwok = next(p for p in self._procs if p.name == "kwok")
        with self.client() as client:
            for name in self.nodes:
                client.create(self._node(name))
            pending = set(self.nodes)
            while pending:
                kwok.check_alive()
                for name in sorted(pending):
                    try:
                        node = client.get(Node, name)
                    except ApiError:
                        continue
                    conditions = (node.status.conditions or []) if node.status else []
                    if any(c.type == "Ready" and c.status == "True" for c in conditions):
                        pending.discard(name)
                if not pending:
                    return
                if time.monotonic() > deadline:
                    raise ControlPlaneError(
                        f"nodes {sorted(pending)} not Ready after {self.startup_timeout:.0f}s; "
                        f"last lines of {kwok.log}:\n{_tail(kwok.log)}")
                time.sleep(0.2)
