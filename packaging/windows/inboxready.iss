; Inno Setup 6 script: a per-user installer for the frozen one-folder app (no administrator rights).
;
;   iscc /DAppVersion=0.1.0 /DDistDir=..\..\dist\inboxready /DOutputDir=..\..\dist packaging\windows\inboxready.iss
;
; Installs to %LOCALAPPDATA%\Programs\InboxReady, adds a Start-menu entry (and, if chosen, a desktop icon),
; registers the uninstaller under "Apps & features" for this user only. The release workflow signs the
; executables before this runs and the installer after, when the signing secrets are present.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef DistDir
  #define DistDir "..\..\dist\inboxready"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\build\icons\inboxready.ico"
#endif

[Setup]
AppId={{6C3C2B1E-5C7A-4E0B-9B3F-1F3A4E2D9A11}
AppName=InboxReady
AppVersion={#AppVersion}
AppVerName=InboxReady {#AppVersion}
AppPublisher=InboxReady
AppPublisherURL=https://inboxready.app
VersionInfoVersion={#AppVersion}
; Per user: no UAC prompt; {autopf} becomes %LOCALAPPDATA%\Programs for a non-admin install.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\InboxReady
DefaultGroupName=InboxReady
DisableProgramGroupPage=yes
UninstallDisplayIcon={app}\inboxready-gui.exe
UninstallDisplayName=InboxReady
SetupIconFile={#IconFile}
OutputDir={#OutputDir}
OutputBaseFilename=InboxReady-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern
LicenseFile=..\..\LICENSE
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#DistDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\InboxReady"; Filename: "{app}\inboxready-gui.exe"; Comment: "Check your domain's e-mail set-up (SPF, DKIM, DMARC)"
Name: "{autodesktop}\InboxReady"; Filename: "{app}\inboxready-gui.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\inboxready-gui.exe"; Description: "{cm:LaunchProgram,InboxReady}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Only what the installer put there. The user's settings (%APPDATA%\InboxReady), history and reports
; (%LOCALAPPDATA%\InboxReady) and the passwords in Windows Credential Manager are theirs and stay.
Type: filesandordirs; Name: "{app}\_internal"
