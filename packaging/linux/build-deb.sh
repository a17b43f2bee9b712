#!/usr/bin/env bash
# Wrap the frozen one-folder app in a .deb: /opt/inboxready, /usr/bin links, desktop entry, hicolor icons.
#   packaging/linux/build-deb.sh APP_DIR VERSION OUT_DIR
# (build-linux.sh --deb calls this after its smoke test.) Needs dpkg-deb and fakeroot, and PySide6 in the
# Python that runs packaging/make-icons.py (PYTHON, default: the build venv /tmp/pyi).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
app="$1"; version="$2"; out="$3"
python="${PYTHON:-${PYI_VENV:-/tmp/pyi}/bin/python}"
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
root="$(mktemp -d /tmp/inboxready-deb.XXXXXX)"
trap 'rm -rf "$root"' EXIT

"$python" "$here/../make-icons.py" "$root/icons" >/dev/null
mkdir -p "$root/pkg/opt" "$root/pkg/usr/bin" "$root/pkg/usr/share/applications" "$root/pkg/DEBIAN" \
         "$root/pkg/usr/share/icons/hicolor/scalable/apps" "$root/pkg/usr/share/doc/inboxready"
cp -a "$app" "$root/pkg/opt/inboxready"
ln -s /opt/inboxready/inboxready "$root/pkg/usr/bin/inboxready"
ln -s /opt/inboxready/inboxready-gui "$root/pkg/usr/bin/inboxready-gui"
install -m 644 "$here/inboxready.desktop" "$root/pkg/usr/share/applications/inboxready.desktop"
install -m 644 "$root/icons/inboxready.svg" "$root/pkg/usr/share/icons/hicolor/scalable/apps/inboxready.svg"
for n in 16 24 32 48 64 128 256 512; do
  mkdir -p "$root/pkg/usr/share/icons/hicolor/${n}x${n}/apps"
  install -m 644 "$root/icons/png/inboxready-$n.png" "$root/pkg/usr/share/icons/hicolor/${n}x${n}/apps/inboxready.png"
done
printf 'InboxReady %s\nLicence: MIT. Bundles Qt for Python (LGPLv3), Python (PSF) and the libraries listed in\n/opt/inboxready/_internal/*.dist-info.\n' "$version" \
  >"$root/pkg/usr/share/doc/inboxready/copyright"
size_kb=$(du -sk "$root/pkg" | cut -f1)
# The frozen app needs at least the glibc it was built against (build on the oldest distro you support).
glibc_min="$(getconf GNU_LIBC_VERSION | awk '{print $2}')"
cat >"$root/pkg/DEBIAN/control" <<CONTROL
Package: inboxready
Version: $version
Architecture: $arch
Maintainer: InboxReady <noreply@example.invalid>
Section: net
Priority: optional
Installed-Size: $size_kb
Depends: libc6 (>= $glibc_min), libgl1, libegl1, libxcb1
Description: check a domain's e-mail authentication (SPF, DKIM, DMARC, MX)
 InboxReady tells a small-business admin, in plain words, what is wrong with
 the domain's e-mail set-up and exactly which DNS records to publish to fix it.
CONTROL
cat >"$root/pkg/DEBIAN/postinst" <<'POST'
#!/bin/sh
set -e
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
exit 0
POST
cp "$root/pkg/DEBIAN/postinst" "$root/pkg/DEBIAN/postrm"
chmod 755 "$root/pkg/DEBIAN/postinst" "$root/pkg/DEBIAN/postrm"
deb="$out/inboxready_${version}_${arch}.deb"
fakeroot dpkg-deb --build -Zxz "$root/pkg" "$deb" >/dev/null
echo "  .deb: $deb ($(awk -v b="$(stat -c %s "$deb")" 'BEGIN{printf "%.1f", b/1048576}') MB)"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Depends:/p' | sed 's/^/    /'
