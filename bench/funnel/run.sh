#!/usr/bin/env bash
# Funnel benchmark: a throttled origin (nginx with per-connection limit_rate, and a strictly
# paced origin of our own, since nginx lets a burst through at the start of each response),
# fetched by: one curl, aria2c -x8 -s8 -k1M, axel -n 8, homestream download, and curl through
# homestream funnel, all with 8 connections. Prints MB/s, SHA-256 match, and the time to the
# first body byte after a seek (funnel vs. the origin itself). Then a 1 GiB run through the
# funnel and the downloader reading peak RSS (VmHWM) against
# max-blocks x block-size + connections x piece-size + 32 MiB.
# video-funnel (PyPI) is tried in a Python venv; the script says whether it runs.
#
# Environment: SIZE (48M), RATE per connection (1M), CONNS (8), BIG (1G, 0 to skip),
# PORT_BASE (18080), CARGO_TARGET_DIR (target-funnel-bench at the repo root), VF (1: try video-funnel),
# PROFILE (release; `dev` reuses a debug build for a quick check).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SIZE=${SIZE:-48M}
RATE=${RATE:-1M}
CONNS=${CONNS:-8}
BIG=${BIG:-1G}
PORT_BASE=${PORT_BASE:-18080}
VF=${VF:-1}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-funnel-bench}

bytes() { # 48M -> bytes
    local v=${1^^}
    case $v in
        *G) echo $(( ${v%G} << 30 ));;
        *M) echo $(( ${v%M} << 20 ));;
        *K) echo $(( ${v%K} << 10 ));;
        *) echo "$v";;
    esac
}
SIZE_B=$(bytes "$SIZE")
RATE_B=$(bytes "$RATE")
TARGET_MBS=$(awk -v c="$CONNS" -v r="$RATE_B" 'BEGIN{printf "%.2f", c*r/1e6}')

PROFILE=${PROFILE:-release}
echo "== building ($PROFILE, $CARGO_TARGET_DIR)"
(cd "$ROOT" && cargo build --profile "$PROFILE" -q -p homestream-funnel --examples)
DIR=$PROFILE; [ "$PROFILE" = dev ] && DIR=debug
BIN=$CARGO_TARGET_DIR/$DIR/examples/hs_funnel
ORIGIN=$CARGO_TARGET_DIR/$DIR/examples/paced_origin

T=$(mktemp -d)
chmod 755 "$T"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

wait_port() { # port
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "port $1 never opened" >&2
    return 1
}

now() { date +%s.%N; }

# ---- origins -------------------------------------------------------------------------------
NGINX_PORT=$PORT_BASE
PACED_PORT=$((PORT_BASE + 1))
FUNNEL_PORT=$((PORT_BASE + 2))
mkdir -p "$T/www" "$T/nginx"
"$ORIGIN" --size "$SIZE_B" --write "$T/www/file.bin"
REF="$T/www/file.bin"
REF_SHA=$(sha256sum "$REF" | cut -d' ' -f1)
chmod 644 "$REF"
cat > "$T/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    types { video/mp4 bin; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $T/www;
        location / { limit_rate $RATE_B; limit_rate_after 0; }
    }
}
EOF
/usr/sbin/nginx -c "$T/nginx.conf" -p "$T/nginx" 2>"$T/nginx/stderr" &
PIDS+=($!)
# The paced origin generates the same bytes as file.bin (same generator, version 1).
"$ORIGIN" --size "$SIZE_B" --rate "$RATE_B" --port "$PACED_PORT" >/dev/null &
PIDS+=($!)
wait_port "$NGINX_PORT"
wait_port "$PACED_PORT"

echo "== content: $SIZE_B bytes, per-connection limit $RATE_B B/s, $CONNS connections: target $TARGET_MBS MB/s"

# ---- throughput ------------------------------------------------------------------------------
# run NAME ORIGIN_URL OUTFILE CMD... : prints MB/s and sha match; echoes MB/s into $T/last
run() {
    local name=$1 out=$2; shift 2
    rm -f "$out" "$out".st "$out".aria2 "$out".homestream-part
    local t0 t1 n
    t0=$(now)
    "$@" >"$T/cmd.log" 2>&1 || true
    t1=$(now)
    n=$(stat -c %s "$out" 2>/dev/null || echo 0)
    local mbs match
    mbs=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", n/(b-a)/1e6}')
    if [ "$n" = "$SIZE_B" ]; then
        if [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$REF_SHA" ]; then match=yes; else match=NO; fi
    elif [ "$n" -gt 0 ] && cmp -s -n "$n" "$out" "$REF"; then
        match="prefix-ok($n B)"
    else
        match="NO($n B)"
    fi
    printf "  %-28s %8s MB/s  x%-5s of target  sha256 %s\n" "$name" "$mbs" \
        "$(awk -v m="$mbs" -v t="$TARGET_MBS" 'BEGIN{printf "%.2f", m/t}')" "$match"
    echo "$mbs" > "$T/last"
    rm -f "$out"
}

SEEK_OFF=$((SIZE_B * 5 / 8 + 12345))

bench_origin() { # label url port
    local label=$1 url=$2
    echo "== origin: $label ($url)"
    run "curl (1 connection, 5 s)" "$T/o.curl" curl -s --max-time 5 -o "$T/o.curl" "$url"
    run "aria2c -x8 -s8 -k1M" "$T/o.aria" aria2c -x"$CONNS" -s"$CONNS" -k1M --file-allocation=none \
        --allow-overwrite=true --auto-file-renaming=false -q -d "$T" -o o.aria "$url"
    local aria; aria=$(cat "$T/last")
    run "axel -n 8" "$T/o.axel" axel -n "$CONNS" -q -o "$T/o.axel" "$url"
    run "homestream download" "$T/o.hs" "$BIN" download -q --connections "$CONNS" -o "$T/o.hs" "$url"
    local hs; hs=$(cat "$T/last")
    "$BIN" funnel --connections "$CONNS" --port "$FUNNEL_PORT" "$url" 2>"$T/funnel.log" >/dev/null &
    local fpid=$!
    PIDS+=($fpid)
    wait_port "$FUNNEL_PORT"
    run "curl via homestream funnel" "$T/o.fun" curl -s -o "$T/o.fun" "http://127.0.0.1:$FUNNEL_PORT/"
    local fun; fun=$(cat "$T/last")
    echo "  vs aria2c: download x$(awk -v a="$hs" -v b="$aria" 'BEGIN{printf "%.2f", a/b}')," \
        "funnel x$(awk -v a="$fun" -v b="$aria" 'BEGIN{printf "%.2f", a/b}')"
    # Seek: a player streams from 0 (keeping every connection busy), then jumps to SEEK_OFF.
    curl -s -o /dev/null "http://127.0.0.1:$FUNNEL_PORT/" &
    local bg=$!
    sleep 1
    local hostport=${url#http://}; hostport=${hostport%%/*}
    local path=/${url#http://*/}
    echo "  first body byte after a seek to $SEEK_OFF:" \
        "funnel $(python3 "$HERE/ttfb.py" 127.0.0.1 "$FUNNEL_PORT" / "$SEEK_OFF" "$REF") ms;" \
        "origin directly $(python3 "$HERE/ttfb.py" "${hostport%:*}" "${hostport#*:}" "$path" "$SEEK_OFF" "$REF") ms"
    kill "$bg" 2>/dev/null || true
    wait "$bg" 2>/dev/null || true
    echo "  funnel peak RSS: $(grep VmHWM /proc/$fpid/status | awk '{print $2, $3}')"
    kill "$fpid"
    wait "$fpid" 2>/dev/null || true
}

bench_origin "nginx limit_rate $RATE_B limit_rate_after 0" "http://127.0.0.1:$NGINX_PORT/file.bin"
bench_origin "strictly paced (ours)" "http://127.0.0.1:$PACED_PORT/file.bin"

# ---- video-funnel ---------------------------------------------------------------------------
if [ "$VF" = 1 ]; then
    echo "== video-funnel (PyPI) in a Python $(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])') venv"
    python3 -m venv "$T/vf" >/dev/null
    if ! "$T/vf/bin/pip" install -q video-funnel >"$T/vf.log" 2>&1; then
        echo "  video-funnel: does not install here: $(tail -1 "$T/vf.log")"
    elif ! "$T/vf/bin/vf" --help >"$T/vf.log" 2>&1; then
        echo "  video-funnel: installs but does not run here (needs Python 3.7 for its pinned aiohttp):"
        echo "    $(tail -1 "$T/vf.log")"
    else
        "$T/vf/bin/vf" --port "$FUNNEL_PORT" "http://127.0.0.1:$PACED_PORT/file.bin" >"$T/vf.run" 2>&1 &
        vfpid=$!
        PIDS+=($vfpid)
        if wait_port "$FUNNEL_PORT"; then
            run "curl via video-funnel" "$T/o.vf" curl -s -o "$T/o.vf" "http://127.0.0.1:$FUNNEL_PORT/"
        fi
        kill "$vfpid" 2>/dev/null || true
    fi
fi

# ---- memory: 1 GiB through the funnel and the downloader ------------------------------------
if [ "$BIG" != 0 ]; then
    BIG_B=$(bytes "$BIG")
    BIG_PORT=$((PORT_BASE + 3))
    "$ORIGIN" --size "$BIG_B" --port "$BIG_PORT" >/dev/null &
    PIDS+=($!)
    wait_port "$BIG_PORT"
    BIG_SHA=$("$ORIGIN" --size "$BIG_B" --sha)
    LIMIT_KB=$(( (2 * 8 * 1024) + (CONNS * 1024) + 32 * 1024 ))
    echo "== memory: $BIG_B bytes, defaults (8M blocks, 1M pieces, max 2 blocks, $CONNS conns): limit $LIMIT_KB kB"
    "$BIN" funnel --connections "$CONNS" --port "$FUNNEL_PORT" "http://127.0.0.1:$BIG_PORT/big.bin" 2>"$T/big.log" >/dev/null &
    fpid=$!
    PIDS+=($fpid)
    wait_port "$FUNNEL_PORT"
    t0=$(now)
    got=$(curl -s "http://127.0.0.1:$FUNNEL_PORT/" | sha256sum | cut -d' ' -f1)
    t1=$(now)
    hwm=$(awk '/VmHWM/{print $2}' /proc/$fpid/status)
    kill "$fpid"; wait "$fpid" 2>/dev/null || true
    printf "  funnel:   %s MB/s, sha256 %s, VmHWM %s kB (%s)\n" \
        "$(awk -v n="$BIG_B" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n/(b-a)/1e6}')" \
        "$([ "$got" = "$BIG_SHA" ] && echo match || echo MISMATCH)" "$hwm" \
        "$([ "$hwm" -lt "$LIMIT_KB" ] && echo "under the limit" || echo "OVER the limit")"
    # The downloader's peak RSS, measured by the parent (VmHWM is gone once it exits).
    dl=$(python3 - "$BIN" "$T/big.out" "http://127.0.0.1:$BIG_PORT/big.bin" "$CONNS" <<'PY'
import resource, subprocess, sys, time
b, out, url, c = sys.argv[1:5]
t = time.time()
rc = subprocess.run([b, "download", "-q", "--connections", c, "-o", out, url]).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.time() - t)
PY
)
    read -r rc maxrss secs <<<"$dl"
    got=$(sha256sum "$T/big.out" | cut -d' ' -f1)
    rm -f "$T/big.out"
    printf "  download: %s MB/s, exit %s, sha256 %s, max RSS %s kB (%s)\n" \
        "$(awk -v n="$BIG_B" -v s="$secs" 'BEGIN{printf "%.1f", n/s/1e6}')" "$rc" \
        "$([ "$got" = "$BIG_SHA" ] && echo match || echo MISMATCH)" "$maxrss" \
        "$([ "$maxrss" -lt "$LIMIT_KB" ] && echo "under the limit" || echo "OVER the limit")"
fi
