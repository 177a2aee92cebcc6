#!/usr/bin/env bash
# N onnx-chat replicas behind nginx on loopback (`make replicas`): each replica on a port of its
# own, nginx (run as the current user, no system service) with its prefix, config and logs in a
# temporary folder, from deploy/nginx/onnx-chat.conf.in. Prints one line when every replica is
# ready, then waits; Ctrl-C (or SIGTERM) stops nginx and the replicas and removes the folder.
#   usage: scripts/replicas.sh [--replicas 2] [--port 8080] [--model M] [--bin build/onnx-chat] [-- serve args...]
#   The ready line: "replicas: ready http://127.0.0.1:PORT nginx=PID replicas=PID@PORT,PID@PORT"
set -euo pipefail
cd "$(dirname "$0")/.."

replicas=2
port=8080
model=onnx-community/gemma-3n-E2B-it-ONNX
bin=build/onnx-chat
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) replicas="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "replicas: unknown argument $1" >&2; exit 2 ;;
  esac
done
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx_bin" ] || { echo "replicas: nginx is not installed (scripts/setup.sh installs it)" >&2; exit 1; }

dir="$(mktemp -d -t onnx-chat-replicas.XXXXXX)"
pids=()
nginx_pid=""
cleanup() {
  trap - EXIT INT TERM
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}" $nginx_pid; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# A hub model is fetched once, before the replicas start (they share the cache).
[ -d "$model" ] || "$bin" pull "$model" >&2

# A free loopback port each (asked of the kernel, then handed to the replica).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ports=()
for i in $(seq 1 "$replicas"); do
  ports+=("$(free_port)")
  "$bin" serve --model "$model" --host 127.0.0.1 --port "${ports[$((i - 1))]}" "$@" >"$dir/replica$i.log" 2>&1 &
  pids+=("$!")
done

servers=""
for p in "${ports[@]}"; do servers+="    server 127.0.0.1:$p max_fails=1 fail_timeout=10s;"$'\n'; done
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"$'\n'
mkdir -p "$dir/nginx"
awk -v prefix="$dir/nginx" -v listen="127.0.0.1:$port" -v servers="$servers" -v user="$user_line" '
  { gsub(/@PREFIX@/, prefix); gsub(/@LISTEN@/, listen); sub(/@USER@/, user) }
  /^@SERVERS@$/ { printf "%s", servers; next }
  { print }' deploy/nginx/onnx-chat.conf.in >"$dir/nginx/nginx.conf"
"$nginx_bin" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" -g 'daemon off;' &
nginx_pid=$!

for i in $(seq 1 "$replicas"); do
  until curl -fsS "http://127.0.0.1:${ports[$((i - 1))]}/ready" >/dev/null 2>&1; do
    kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { cat "$dir/replica$i.log" >&2; exit 1; }
    sleep 0.2
  done
done
until curl -fsS "http://127.0.0.1:$port/ready" >/dev/null 2>&1; do
  kill -0 "$nginx_pid" 2>/dev/null || { cat "$dir/nginx/error.log" >&2; exit 1; }
  sleep 0.1
done
list=""
for i in "${!pids[@]}"; do list+="${list:+,}${pids[$i]}@${ports[$i]}"; done
echo "replicas: ready http://127.0.0.1:$port nginx=$nginx_pid replicas=$list logs=$dir"
wait "$nginx_pid"
