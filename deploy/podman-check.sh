#!/usr/bin/env bash
# Builds deploy/Containerfile with podman on a machine that reaches no
# container registry (as the machines sladesk is developed on), then runs the
# image's demo from the image's own filesystem and asks it /readyz.
#
# The Containerfile's two bases are arguments; here both are made from the
# host instead of pulled: the runtime base holds only what the binary links
# (glibc, libm, libgcc_s, the loader), the CA certificates and an
# unprivileged user, as distroless's cc image does; the build base adds a
# shell, and the binary is built on the host first, which the build stage
# then takes as it is.
#
# Usage: deploy/podman-check.sh    (needs podman: apt-get install podman)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v podman >/dev/null || { echo "podman is not installed (apt-get install podman)" >&2; exit 2; }
port=${PORT:-18280}
work=$(mktemp -d)
name=sladesk-check-$$
cleanup() { podman rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
cargo build --release --quiet

base=$work/runtime
mkdir -p "$base"/{lib/x86_64-linux-gnu,lib64,etc/ssl/certs,tmp,home/nonroot}
for lib in $(ldd target/release/sladesk | awk '$3 ~ /^\// {print $3}'); do cp -L "$lib" "$base/lib/x86_64-linux-gnu/"; done
cp -L /lib64/ld-linux-x86-64.so.2 "$base/lib64/"
cp -L /etc/ssl/certs/ca-certificates.crt "$base/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$base/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$base/etc/group"
chmod 1777 "$base/tmp"
tar -C "$base" -c . | podman import -q - localhost/sladesk-runtime-base >/dev/null
builder=$work/builder
cp -a "$base" "$builder"
mkdir -p "$builder/bin"
cp -L /bin/dash "$builder/bin/sh"
cp -L /bin/mkdir "$builder/bin/mkdir"
for lib in $(ldd /bin/dash /bin/mkdir | awk '$3 ~ /^\// {print $3}' | sort -u); do cp -L "$lib" "$builder/lib/x86_64-linux-gnu/"; done
tar -C "$builder" -c . | podman import -q - localhost/sladesk-build-base >/dev/null

# chroot isolation and no cgroups: this machine's cgroup layout (hybrid)
# is one crun refuses; neither changes what is built or run.
podman build -q --isolation chroot -f deploy/Containerfile \
  --build-arg BUILDER=localhost/sladesk-build-base \
  --build-arg RUNTIME=localhost/sladesk-runtime-base \
  -t localhost/sladesk . >/dev/null
size=$(podman image inspect localhost/sladesk --format '{{.Size}}')
echo "built localhost/sladesk: $((size / 1024 / 1024)) MiB"

# `podman run` cannot start a container on this machine: both OCI runtimes
# (crun, runc) are refused when they set the container's resource limits
# (prlimit on the new process: "operation not permitted"). So the image's
# own filesystem is exported and its entry point run in it with chroot, as
# the image's unprivileged user, which is what the runtime would do.
podman create --name "$name" localhost/sladesk >/dev/null
mkdir "$work/rootfs"
podman export "$name" | tar -C "$work/rootfs" -x
mkdir -p "$work/rootfs/proc" && mount -t proc proc "$work/rootfs/proc"
trap 'umount "$work/rootfs/proc" 2>/dev/null || true; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; cleanup' EXIT
env -i SLADESK_DATABASE_URL=sqlite:///var/lib/sladesk/sladesk.db RUST_LOG=warn \
  /usr/sbin/chroot --userspec=65532:65532 "$work/rootfs" /usr/local/bin/sladesk demo --listen "127.0.0.1:$port" >"$work/demo.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; then
    echo "the image's binary, run from its own filesystem as uid 65532, serves its demo: /readyz 200 on 127.0.0.1:$port"
    exit 0
  fi
  sleep 1
done
echo "the image's demo did not become ready:"
tail -20 "$work/demo.log"
exit 1
