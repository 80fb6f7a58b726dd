# Sourced by test-services.sh and s3-server.sh: choosing free loopback ports for private daemons.
#
# "Nothing listens there" when the script looks is not "free" when the daemon binds it a moment
# later. Ports in the kernel's ephemeral range (ip_local_port_range, 32768-60999 on Debian) are
# handed out all the time during a test run: to every listen(0) (the tests' freePort, any server on
# port 0) and to outgoing connections. CI saw Ceph's monitor refused 43736 ("Address already in
# use") for ten seconds and eight report-store tests cancelled. So the ranges the scripts pick from
# lie below the ephemeral range, apart from each other (a daemon of one script never takes a port
# another script chose), and s3-server.sh starts again on other ports if a bind is refused anyway:
#   10000-15999 the S3 gateway        16000-18999 Redis
#   19000-24999 Ceph's monitor + 24   25000-28499 RabbitMQ (+4000: its distribution port)

port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# The lowest port the kernel hands to outgoing connections.
ephemeral_floor() { awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768; }

# A port p in [lo, hi) with p .. p+span-1 free on host and, with an offset, p+offset too. Random,
# so two instances on one machine rarely try the same one.
free_ports() { # lo hi [span] [host] [offset]
  local lo=$1 hi=$2 span=${3:-1} host=${4:-127.0.0.1} offset=${5:-0} p i ok tries=0 floor
  floor="$(ephemeral_floor)"
  if [ $((hi + offset + span)) -gt "$floor" ]; then
    echo "[free-ports] $lo-$hi (+$offset, $span wide) reaches this machine's ephemeral ports ($floor and up): a connection may take one before the daemon binds it" >&2
  fi
  while [ $tries -lt 200 ]; do
    p=$((lo + RANDOM % (hi - lo)))
    ok=1
    for ((i = 0; i < span; i++)); do port_open $((p + i)) "$host" && { ok=""; break; }; done
    [ -n "$ok" ] && [ "$offset" -gt 0 ] && port_open $((p + offset)) "$host" && ok=""
    [ -n "$ok" ] && { echo "$p"; return 0; }
    tries=$((tries + 1))
  done
  echo "[free-ports] no free ports in $lo-$hi" >&2
  return 1
}
