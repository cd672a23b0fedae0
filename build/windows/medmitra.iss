; Inno Setup 6 script: the per-user Windows installer of MedMitra Desktop.
;
;   iscc /DAppVersion=0.1.0 build\windows\medmitra.iss
;
; Input: the PyInstaller bundle in build\dist\medmitra-desktop (build\build.py makes it).
; Output: build\dist\MedMitra-Desktop-<version>-setup.exe.
; Options (iscc /D...): AppVersion (required; the workflow reads it from pyproject.toml),
; SourceDir, OutputDir, and Sign (then pass /Smedmitra=... so Inno Setup signs the setup
; program and the uninstaller; see build\README.md and .github\workflows\release.yml).
;
; Installs for the current user only (no administrator rights, no UAC prompt) into
; %LOCALAPPDATA%\Programs\MedMitra Desktop, with a Start-menu entry. Uninstalling removes
; the program; the doctor's data (%LOCALAPPDATA%\MedMitra\MedMitra Desktop: database,
; attached reports, backups, logs) is kept unless the doctor says yes to deleting it, or
; the uninstaller is run with /DELETEDATA.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z medmitra.iss
#endif
#ifndef SourceDir
  #define SourceDir "..\dist\medmitra-desktop"
#endif
#ifndef OutputDir
  #define OutputDir "..\dist"
#endif

#define AppName "MedMitra Desktop"
#define AppPublisher "MedMitra"
#define AppExe "medmitra-desktop.exe"
; platformdirs.user_data_dir("MedMitra Desktop", "MedMitra", roaming=False)
#define DataFolder "{localappdata}\MedMitra\MedMitra Desktop"
; QSettings (window layout) of organisation "MedMitra", application "MedMitra Desktop"
#define SettingsKey "Software\MedMitra\MedMitra Desktop"

[Setup]
; Never change AppId: Windows finds the installed copy (upgrade, uninstall) by it.
AppId={{5B0E7C55-3A8D-4E0C-9C51-6E3F2A9D4B17}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
VersionInfoVersion={#AppVersion}
VersionInfoProductName={#AppName}
PrivilegesRequired=lowest
; {autopf} is %LOCALAPPDATA%\Programs for a per-user install.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#OutputDir}
OutputBaseFilename=MedMitra-Desktop-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayName={#AppName}
UninstallDisplayIcon={app}\{#AppExe}
CloseApplications=yes
RestartApplications=no
SetupLogging=yes
#ifdef Sign
SignTool=medmitra
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole bundle, including Tesseract and its English data in _internal\tesseract.
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An upgrade replaces the bundle as a whole: no stale modules from the previous version.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[Code]
function WantsDataDeleted(const DataDir: String): Boolean;
begin
  { Silent uninstalls (software deployment tools) keep the data unless told otherwise. }
  if Pos('/DELETEDATA', Uppercase(GetCmdTail)) > 0 then
    Result := True
  else if UninstallSilent then
    Result := False
  else
    Result := MsgBox(
      'Also delete your MedMitra Desktop data?' + #13#10 + #13#10 +
      'This is every case, attached report, the database, its backups and the logs in' + #13#10 +
      DataDir + #13#10 + #13#10 +
      'Choose No to keep them (a new installation will open them again). Deleting them ' +
      'cannot be undone. A data folder chosen with --data-dir or MEDMITRA_HOME is never ' +
      'deleted.',
      mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  DataDir: String;
begin
  if CurUninstallStep <> usPostUninstall then
    exit;
  DataDir := ExpandConstant('{#DataFolder}');
  if not DirExists(DataDir) then
    exit;
  if WantsDataDeleted(DataDir) then
  begin
    if not DelTree(DataDir, True, True, True) then
      MsgBox('Some of your data could not be deleted (is MedMitra Desktop still running?). ' +
             'Delete this folder yourself: ' + DataDir, mbError, MB_OK);
    RegDeleteKeyIncludingSubkeys(HKEY_CURRENT_USER, '{#SettingsKey}');
    { The organisation's folder, if nothing else of MedMitra is left in it. }
    RemoveDir(ExtractFileDir(DataDir));
  end;
end;
