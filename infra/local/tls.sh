# Throwaway TLS material for the secure local servers (sourced by services.sh, not run).
#
# tls_ensure DIR   writes, unless a valid set is already there:
#   DIR/ca.pem, DIR/ca.key       a CA made for this machine only ("foreshock local test CA")
#   DIR/server.pem, server.key   the servers' certificate (SAN localhost, 127.0.0.1, ::1;
#                                serverAuth + clientAuth: OpenSearch's transport uses it both
#                                ways), signed by the CA; key in PKCS#8 PEM, unencrypted
#   DIR/server-chain.pem         server.pem followed by ca.pem
#   DIR/kafka-keystore.pem       server.key + server-chain.pem (Kafka's PEM keystore)
# Everything is made with `openssl`; the CA key never leaves DIR. Certificates last
# TLS_DAYS days (default 30) and are made anew when they expire within a day.

TLS_DAYS="${FORESHOCK_TLS_DAYS:-30}"
TLS_SERVER_DN="/O=foreshock/OU=local/CN=localhost"
# The same DN in RFC 2253 order, as OpenSearch's plugins.security.nodes_dn wants it.
TLS_SERVER_DN_RFC2253="CN=localhost,OU=local,O=foreshock"

tls_valid() {
    local dir=$1 f
    command -v openssl >/dev/null || return 1
    for f in ca.pem ca.key server.pem server.key server-chain.pem kafka-keystore.pem; do
        [[ -s "$dir/$f" ]] || return 1
    done
    openssl x509 -checkend 86400 -noout -in "$dir/server.pem" >/dev/null 2>&1 &&
        openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" >/dev/null 2>&1
}

# openssl, installed from Debian's packages when missing and we are root (a fresh CI machine).
tls_need_openssl() {
    command -v openssl >/dev/null && return 0
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        log "tls: installing openssl (apt-get) to make the test certificates"
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
            --no-install-recommends openssl; } >"${LOG_DIR:-/tmp}/apt-openssl.log" 2>&1 || true
    fi
    command -v openssl >/dev/null ||
        die "openssl is needed to make the test certificates of the secure servers" \
            "(Debian: apt-get install openssl; or FORESHOCK_SERVICES_SECURE=0)"
}

tls_make() {
    local dir=$1 tmp ext
    tls_need_openssl
    tmp="$dir/.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    (
        set -e
        umask 077
        cd "$tmp"
        openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$TLS_DAYS" \
            -keyout ca.key -out ca.pem -subj "/O=foreshock/CN=foreshock local test CA $(date -u +%Y%m%dT%H%M%S)" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out server.key 2>/dev/null
        openssl req -new -key server.key -subj "$TLS_SERVER_DN" -out server.csr 2>/dev/null
        ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
        printf '%s\n' "$ext" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
            -days "$TLS_DAYS" -extfile server.ext -out server.pem 2>/dev/null
        cat server.pem ca.pem >server-chain.pem
        cat server.key server-chain.pem >kafka-keystore.pem
        rm -f server.csr server.ext ca.srl
        # readable by the servers (same user) and by the test clients; the keys stay 0600
        chmod 0644 ca.pem server.pem server-chain.pem
    ) || {
        rm -rf "$tmp"
        die "making the test certificates with openssl failed"
    }
    mkdir -p "$dir"
    mv -f "$tmp"/* "$dir"/
    rm -rf "$tmp"
}

# Make DIR's certificates unless valid ones are there; prints nothing unless it makes them.
tls_ensure() {
    local dir=$1
    if ! tls_valid "$dir"; then
        tls_make "$dir"
        log "tls: made a throwaway CA and server certificate in $dir (valid $TLS_DAYS days)"
    fi
}
