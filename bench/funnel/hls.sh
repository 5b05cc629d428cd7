#!/usr/bin/env bash
# HLS benchmark: an ffmpeg-made HLS VOD (MPEG-TS segments) behind a per-connection paced origin
# (paced_static.py), fetched by homestream download (CONNS connections), ffmpeg -i URL -c copy, and
# yt-dlp --concurrent-fragments CONNS (from PyPI, in a venv under the target dir when YTDLP is
# unset). Prints MB/s of each and the ratios to the target (CONNS x RATE) and to yt-dlp; the time
# to the first decoded frame (ffmpeg) through homestream funnel vs. from the origin, at the start
# and after a seek to the middle; and mpv playing the whole VOD as fast as it can (--untimed, no
# output) from the origin and through the funnel (wall time, and the speed-up).
#
# The last line also times mpv on the local files: its decoding alone, the floor under both
# (on a busy machine it is several seconds and caps the speed-up; measure on an idle one).
#
# Environment: DUR (60 s of video), RATE per connection (512K), CONNS (8), PORT_BASE (18180),
# CARGO_TARGET_DIR, PROFILE (release; `dev` reuses a debug build), YTDLP (path to yt-dlp).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DUR=${DUR:-60}
RATE=${RATE:-512K}
CONNS=${CONNS:-8}
PORT_BASE=${PORT_BASE:-18180}
PROFILE=${PROFILE:-release}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target-funnel-bench}
case ${RATE^^} in *K) RATE_B=$(( ${RATE%[kK]} << 10 ));; *M) RATE_B=$(( ${RATE%[mM]} << 20 ));; *) RATE_B=$RATE;; esac

(cd "$ROOT" && cargo build --profile "$PROFILE" -q -p homestream-funnel --example hs_funnel)
DIR=$PROFILE; [ "$PROFILE" = dev ] && DIR=debug
BIN=$CARGO_TARGET_DIR/$DIR/examples/hs_funnel
if [ -z "${YTDLP:-}" ]; then
    if [ ! -x "$CARGO_TARGET_DIR/venv-ytdlp/bin/yt-dlp" ]; then
        python3 -m venv "$CARGO_TARGET_DIR/venv-ytdlp"
        "$CARGO_TARGET_DIR/venv-ytdlp/bin/pip" install -q yt-dlp
    fi
    YTDLP=$CARGO_TARGET_DIR/venv-ytdlp/bin/yt-dlp
fi

T=$(mktemp -d); chmod 755 "$T"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
now() { date +%s.%N; }

mkdir -p "$T/www/hls"
ffmpeg -v error -f lavfi -i "testsrc2=duration=$DUR:size=640x360:rate=25" -f lavfi -i "sine=duration=$DUR" \
    -c:v libx264 -preset veryfast -b:v 1500k -g 50 -c:a aac -b:a 64k \
    -f hls -hls_time 2 -hls_playlist_type vod -hls_segment_filename "$T/www/hls/seg%03d.ts" "$T/www/hls/index.m3u8"
chmod -R a+rX "$T/www"
TOTAL=$(cat "$T"/www/hls/*.ts | wc -c)
ORIGIN_PORT=$PORT_BASE; FUNNEL_PORT=$((PORT_BASE + 1))
python3 "$HERE/paced_static.py" "$T/www" "$ORIGIN_PORT" "$RATE_B" & PIDS+=($!)
wait_port "$ORIGIN_PORT"
URL=http://127.0.0.1:$ORIGIN_PORT/hls/index.m3u8
TARGET=$(awk -v c="$CONNS" -v r="$RATE_B" 'BEGIN{printf "%.2f", c*r/1e6}')
echo "== HLS: $DUR s, $TOTAL bytes of segments, $RATE_B B/s per connection, $CONNS connections (target $TARGET MB/s)"

declare -A MBS
run() { # key name out cmd...
    local key=$1 name=$2 out=$3; shift 3
    rm -f "$out"*
    local t0 t1 d
    t0=$(now); "$@" >"$T/cmd.log" 2>&1 || { echo "$name failed:"; tail -3 "$T/cmd.log"; }; t1=$(now)
    d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$out" 2>/dev/null || echo 0)
    MBS[$key]=$(awk -v n="$TOTAL" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", n/(b-a)/1e6}')
    awk -v n="$TOTAL" -v a="$t0" -v b="$t1" -v name="$name" -v d="$d" \
        'BEGIN{printf "%-34s %6.2f s  %6.2f MB/s  (file plays %s s)\n", name, b-a, n/(b-a)/1e6, d}'
}
run hs "homestream download" "$T/hs.ts" "$BIN" download -q --connections "$CONNS" "$URL" -o "$T/hs.ts"
run ff "ffmpeg -c copy" "$T/ff.ts" ffmpeg -v error -y -i "$URL" -c copy "$T/ff.ts"
run yt "yt-dlp --concurrent-fragments $CONNS" "$T/yt.ts" "$YTDLP" -q --no-part --concurrent-fragments "$CONNS" \
    --hls-prefer-native -o "$T/yt.ts" "$URL"
awk -v hs="${MBS[hs]}" -v yt="${MBS[yt]}" -v t="$TARGET" \
    'BEGIN{printf "download: %.2fx the target (>= 0.9), %.2fx yt-dlp (>= 1)\n", hs/t, hs/yt}'

"$BIN" funnel --connections "$CONNS" --port "$FUNNEL_PORT" "$URL" 2>"$T/funnel.log" & PIDS+=($!)
wait_port "$FUNNEL_PORT"
first_frame() { # url [seek]
    local t0 t1
    t0=$(now); ffmpeg -v error ${2:+-ss "$2"} -i "$1" -frames:v 1 -f null - >/dev/null 2>&1 || true; t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
}
echo "time to first frame: origin $(first_frame "$URL") s, funnel $(first_frame "http://127.0.0.1:$FUNNEL_PORT/") s"
HALF=$((DUR / 2))
echo "after a seek to $HALF s: origin $(first_frame "$URL" $HALF) s, funnel $(first_frame "http://127.0.0.1:$FUNNEL_PORT/" $HALF) s"
if command -v mpv >/dev/null; then
    play() { # url -> wall seconds of mpv decoding the whole VOD as fast as it can
        local t0 t1
        t0=$(now)
        mpv --no-config --really-quiet --no-audio --untimed --vo=null "$1" >/dev/null 2>&1 || echo "mpv failed on $1" >&2
        t1=$(now)
        awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}'
    }
    MO=$(play "$URL")
    # A fresh funnel, so nothing of the runs above is in its window.
    kill "${PIDS[-1]}" 2>/dev/null || true
    "$BIN" funnel --connections "$CONNS" --port "$((FUNNEL_PORT + 1))" "$URL" 2>>"$T/funnel.log" & PIDS+=($!)
    wait_port "$((FUNNEL_PORT + 1))"
    MF=$(play "http://127.0.0.1:$((FUNNEL_PORT + 1))/")
    ML=$(play "$T/www/hls/index.m3u8")
    awk -v o="$MO" -v f="$MF" -v l="$ML" 'BEGIN{printf "mpv --untimed, whole VOD: origin %.2f s, funnel %.2f s: %.1fx faster (>= 3); from local files %.2f s (mpv decoding alone)\n", o, f, o/f, l}'
fi
