/*
 * smstorrent-setupca.dll: the MSI custom action that runs the service's install step and puts
 * what the step says into the MSI log. An EXE custom action's output goes nowhere (msiexec only
 * sees its exit code), so a refused property used to show only as "returned actual error code
 * 1603"; this action runs the same command line, keeps its output, logs every line
 * (INSTALLMESSAGE_INFO) and, if the step fails, reports its message as the install's error
 * (INSTALLMESSAGE_ERROR: "Product: SMSTorrent -- SMSTorrent setup failed: LIMIT_DOWN=...").
 *
 * Deferred, as SYSTEM (packaging/windows/smstorrent.wxs): CustomActionData is the whole command
 * line, "C:\...\smstorrent-service.exe" setup --repository_url "..." ..., set by an immediate
 * action from the public properties. The step itself validates everything (service/svc).
 * Built by packaging/windows/dist.sh with mingw: x86_64-w64-mingw32-gcc -shared ... -lmsi.
 */
#include <windows.h>
#include <msi.h>
#include <msiquery.h>
#include <stdio.h>
#include <string.h>

#define MAX_OUTPUT (64 * 1024) /* the step prints a line or two; more is cut */

/* say logs text through the installer with the given message kind. */
static void say(MSIHANDLE h, INSTALLMESSAGE kind, const wchar_t *text)
{
	MSIHANDLE rec = MsiCreateRecord(1);
	if (!rec)
		return;
	MsiRecordSetStringW(rec, 0, L"[1]");
	MsiRecordSetStringW(rec, 1, text);
	MsiProcessMessage(h, kind, rec);
	MsiCloseHandle(rec);
}

/* commandLine returns CustomActionData in a new buffer (NULL if it is empty or unreadable). */
static wchar_t *commandLine(MSIHANDLE h)
{
	DWORD n = 0;
	wchar_t empty[1] = L"";
	if (MsiGetPropertyW(h, L"CustomActionData", empty, &n) != ERROR_MORE_DATA || n == 0)
		return NULL;
	n++;
	wchar_t *cmd = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, n * sizeof(wchar_t));
	if (cmd && MsiGetPropertyW(h, L"CustomActionData", cmd, &n) != ERROR_SUCCESS) {
		HeapFree(GetProcessHeap(), 0, cmd);
		return NULL;
	}
	return cmd;
}

/* run starts cmd with stdout and stderr on a pipe, reads at most MAX_OUTPUT bytes of it into out
 * (NUL-terminated; the rest is read and dropped) and returns the exit code, or -1 if the program
 * did not start. */
static DWORD run(wchar_t *cmd, char *out)
{
	SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
	HANDLE rd, wr;
	out[0] = 0;
	if (!CreatePipe(&rd, &wr, &sa, 0))
		return (DWORD)-1;
	SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
	STARTUPINFOW si = {0};
	si.cb = sizeof si;
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = INVALID_HANDLE_VALUE;
	si.hStdOutput = wr;
	si.hStdError = wr;
	PROCESS_INFORMATION pi;
	if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi)) {
		CloseHandle(rd);
		CloseHandle(wr);
		return (DWORD)-1;
	}
	CloseHandle(wr);
	DWORD total = 0, got;
	char scratch[4096];
	for (;;) {
		char *dst = total < MAX_OUTPUT - 1 ? out + total : scratch;
		DWORD room = total < MAX_OUTPUT - 1 ? MAX_OUTPUT - 1 - total : sizeof scratch;
		if (!ReadFile(rd, dst, room, &got, NULL) || got == 0)
			break;
		if (dst != scratch)
			total += got;
	}
	out[total] = 0;
	CloseHandle(rd);
	DWORD code = (DWORD)-1;
	WaitForSingleObject(pi.hProcess, INFINITE);
	GetExitCodeProcess(pi.hProcess, &code);
	CloseHandle(pi.hProcess);
	CloseHandle(pi.hThread);
	return code;
}

/* RunSetup is the custom action's entry point (DllEntry). */
__declspec(dllexport) UINT __stdcall RunSetup(MSIHANDLE h)
{
	wchar_t *cmd = commandLine(h);
	if (!cmd) {
		say(h, INSTALLMESSAGE_ERROR, L"SMSTorrent setup failed: the custom action got no command line (CustomActionData)");
		return ERROR_INSTALL_FAILURE;
	}
	char *out = HeapAlloc(GetProcessHeap(), 0, MAX_OUTPUT);
	wchar_t *text = HeapAlloc(GetProcessHeap(), 0, MAX_OUTPUT * sizeof(wchar_t));
	if (!out || !text) {
		say(h, INSTALLMESSAGE_ERROR, L"SMSTorrent setup failed: out of memory");
		return ERROR_INSTALL_FAILURE;
	}
	DWORD code = run(cmd, out);
	HeapFree(GetProcessHeap(), 0, cmd);
	if (code == (DWORD)-1) {
		_snwprintf(text, MAX_OUTPUT, L"SMSTorrent setup failed: smstorrent-service.exe did not start (error %lu)", GetLastError());
		say(h, INSTALLMESSAGE_ERROR, text);
		return ERROR_INSTALL_FAILURE;
	}
	/* Trim the trailing newline; the program prints UTF-8. */
	size_t n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = 0;
	if (MultiByteToWideChar(CP_UTF8, 0, out, -1, text, MAX_OUTPUT) == 0)
		text[0] = 0;
	if (text[0])
		say(h, INSTALLMESSAGE_INFO, text);
	if (code != 0) {
		if (!text[0])
			_snwprintf(text, MAX_OUTPUT, L"SMSTorrent setup failed with exit code %lu and no message (see %%ProgramData%%\\SMSTorrent\\logs\\setup.log)", code);
		say(h, INSTALLMESSAGE_ERROR, text);
		return ERROR_INSTALL_FAILURE;
	}
	return ERROR_SUCCESS;
}
