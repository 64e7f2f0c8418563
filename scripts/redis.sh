# Sourced, not run: start_redis starts a redis-server of the caller's own on
# a free loopback port, keeping nothing on disk, and exports its REDIS_URL.
# The caller provides $work (a scratch directory for the log) and stops the
# server on exit by killing $redis_pid, which start_redis sets.

# port_free reports whether no one listens on a loopback port.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_redis() {
	local port
	for _ in $(seq 1 20); do
		port=$(( (RANDOM % 20000) + 30000 ))
		port_free "$port" || continue
		redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
			--dir "$work" --logfile "$work/redis.log" --daemonize no &
		redis_pid=$!
		for _ in $(seq 1 100); do
			if redis-cli -p "$port" ping >/dev/null 2>&1; then
				export REDIS_URL="redis://127.0.0.1:${port}/0"
				return 0
			fi
			kill -0 "$redis_pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
		redis_pid=""
	done
	echo "could not start redis-server on a free port; its log:" >&2
	cat "$work/redis.log" >&2 || true
	return 1
}
