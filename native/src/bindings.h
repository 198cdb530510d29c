// Each binding file registers its functions on the addon's exports (see addon.cc).
#pragma once
#include <napi.h>

namespace latentkit {

void registerAttention(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerCuda(Napi::Env env, Napi::Object exports);

}  // namespace latentkit
