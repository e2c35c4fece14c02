/* A stand-in for Windows' bcryptprimitives.dll, for running Go 1.26 programs
 * under wine 8, which lacks it: Go's runtime gets its random bytes from
 * ProcessPrng, which this forwards to RtlGenRandom (advapi32's SystemFunction036).
 * Built by packaging/windows/dist.sh into the test prefix only; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG n = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
