#!/usr/bin/env bash
# Wrap the frozen one-folder app in a .deb: /usr/lib/inboxready, /usr/bin links, desktop entry, hicolor icons.
#   packaging/linux/build-deb.sh APP_DIR VERSION OUT_DIR
# (build-linux.sh --deb calls this after its smoke test.) Needs dpkg-deb (no fakeroot: --root-owner-group), and PySide6 in the
# Python that runs packaging/make-icons.py (PYTHON, default: the build venv /tmp/pyi).
# With SBOM_ENV (cyclonedx-py's description of the build venv) and SBOM_PYTHON (a Python with
# cyclonedx-bom), also writes OUT_DIR/<deb>.cdx.json, the SBOM of what the .deb holds.
#
# Made to pass lintian with no errors (.ci/run runs it on every change):
# - the app lives in /usr/lib/inboxready (private files of the package), not /opt (Debian policy 9.1.1);
# - zlib, bzip2, expat, freetype and libpng, which PyInstaller copied from the build machine, are left out:
#   the .deb depends on the distribution's packages instead, so their security updates reach the app;
# - shared libraries are not executable; a Debian changelog and a machine-readable copyright file;
# - usr/share/lintian/overrides/inboxready names the two findings that are how CPython is built (see there).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
app="$1"; version="$2"; out="$3"
python="${PYTHON:-${PYI_VENV:-/tmp/pyi}/bin/python}"
arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
root="$(mktemp -d /tmp/inboxready-deb.XXXXXX)"
trap 'rm -rf "$root"' EXIT
epoch="${SOURCE_DATE_EPOCH:-$(date +%s)}"
lib=usr/lib/inboxready

"$python" "$here/../make-icons.py" "$root/icons" >/dev/null
pkg="$root/pkg"
mkdir -p "$pkg/usr/lib" "$pkg/usr/bin" "$pkg/usr/share/applications" "$pkg/DEBIAN" \
         "$pkg/usr/share/icons/hicolor/scalable/apps" "$pkg/usr/share/doc/inboxready" \
         "$pkg/usr/share/lintian/overrides"
cp -a "$app" "$pkg/$lib"
ln -s "../lib/inboxready/inboxready" "$pkg/usr/bin/inboxready"
ln -s "../lib/inboxready/inboxready-gui" "$pkg/usr/bin/inboxready-gui"

# The system's copies of these (same sonames; the .deb needs at least the build machine's glibc anyway).
# "a | b": the package was renamed in the 64-bit time_t transition (Debian 13, Ubuntu 24.04).
system_libs=(
  "libz.so.1=zlib1g"
  "libbz2.so.1.0=libbz2-1.0"
  "libexpat.so.1=libexpat1"
  "libfreetype.so.6=libfreetype6"
  "libpng16.so.16=libpng16-16 | libpng16-16t64"
)
depends=""
for entry in "${system_libs[@]}"; do
  so="${entry%%=*}"; dep="${entry#*=}"
  if [ -e "$pkg/$lib/_internal/$so" ]; then
    rm -f "$pkg/$lib/_internal/$so"
    depends="$depends, $dep"
  fi
done
# Shared libraries are mapped, not executed (lintian: shared-library-is-executable).
find "$pkg/$lib/_internal" -type f -name '*.so*' -exec chmod 0644 {} +

install -m 644 "$here/inboxready.desktop" "$pkg/usr/share/applications/inboxready.desktop"
install -m 644 "$root/icons/inboxready.svg" "$pkg/usr/share/icons/hicolor/scalable/apps/inboxready.svg"
for n in 16 24 32 48 64 128 256 512; do
  mkdir -p "$pkg/usr/share/icons/hicolor/${n}x${n}/apps"
  install -m 644 "$root/icons/png/inboxready-$n.png" "$pkg/usr/share/icons/hicolor/${n}x${n}/apps/inboxready.png"
done

# Machine-readable copyright (DEP-5): ours is MIT; the bundled parts keep their own licences.
{
  cat <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: InboxReady
Comment: InboxReady $version. The app folder /$lib bundles Python (PSF licence), Qt for Python
 (LGPLv3) and the Python libraries listed with their licences in /$lib/_internal/*.dist-info
 and in the SBOM published with each release.

Files: *
Copyright: 2026 InboxReady
License: MIT

License: MIT
COPYRIGHT
  sed -n '5,$p' "$here/../../LICENSE" | sed -e 's/^$/./' -e 's/^/ /'
} >"$pkg/usr/share/doc/inboxready/copyright"

# Debian changelog (a native package: changelog.gz), dated from SOURCE_DATE_EPOCH so rebuilds are identical.
printf 'inboxready (%s) stable; urgency=medium\n\n  * InboxReady %s (see the release notes).\n\n -- InboxReady <noreply@example.invalid>  %s\n' \
  "$version" "$version" "$(LC_ALL=C date -u -R -d "@$epoch")" | gzip -9n >"$pkg/usr/share/doc/inboxready/changelog.gz"
chmod 644 "$pkg/usr/share/doc/inboxready/changelog.gz" "$pkg/usr/share/doc/inboxready/copyright"

cat >"$pkg/usr/share/lintian/overrides/inboxready" <<'OVERRIDES'
# CPython's pyexpat module is built with the copy of expat that ships inside CPython (its default build;
# the interpreter is frozen with the app). It is updated with Python, through constraints.txt and a rebuild.
inboxready: embedded-library expat [usr/lib/inboxready/_internal/python3.*/lib-dynload/pyexpat.cpython-*.so]
# CPython extension modules that need no function from libc (e.g. _statistics) are linked to nothing.
inboxready: library-not-linked-against-libc [usr/lib/inboxready/_internal/python3.*/lib-dynload/*.so]
OVERRIDES
chmod 644 "$pkg/usr/share/lintian/overrides/inboxready"

size_kb=$(du -sk "$pkg" | cut -f1)
# The frozen app needs at least the glibc it was built against (build on the oldest distro you support).
glibc_min="$(getconf GNU_LIBC_VERSION | awk '{print $2}')"
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: inboxready
Version: $version
Architecture: $arch
Maintainer: InboxReady <noreply@example.invalid>
Section: net
Priority: optional
Installed-Size: $size_kb
Depends: libc6 (>= $glibc_min), libgl1, libegl1, libxcb1$depends
Description: check a domain's e-mail authentication (SPF, DKIM, DMARC, MX)
 InboxReady tells a small-business admin, in plain words, what is wrong with
 the domain's e-mail set-up and exactly which DNS records to publish to fix it.
CONTROL
cat >"$pkg/DEBIAN/postinst" <<'POST'
#!/bin/sh
set -e
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
exit 0
POST
cp "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/postrm"
chmod 755 "$pkg/DEBIAN/postinst" "$pkg/DEBIAN/postrm"
# Same input, same .deb: file times from SOURCE_DATE_EPOCH.
find "$pkg" -exec touch -h -d "@$epoch" {} +
deb="$out/inboxready_${version}_${arch}.deb"
SOURCE_DATE_EPOCH="$epoch" dpkg-deb --build --root-owner-group -Zxz "$pkg" "$deb" >/dev/null
echo "  .deb: $deb ($(awk -v b="$(stat -c %s "$deb")" 'BEGIN{printf "%.1f", b/1048576}') MB)"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Depends:/p' | sed 's/^/    /'

if [ -n "${SBOM_ENV:-}" ] && [ -n "${SBOM_PYTHON:-}" ]; then
  "$SBOM_PYTHON" "$here/../sbom.py" "$SBOM_ENV" --bundle "$pkg/$lib" --python "${PY_VERSION:-}" \
    --artifact "$deb" -o "$deb.cdx.json"
fi
