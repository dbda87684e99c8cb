// Fuzz harness: the trainers' command line (llmc/train/cli.h). The input is argv[1..], one
// argument per NUL-separated piece (argv[0] is "train_gpt2"); it is parsed as the CPU trainer
// (cuda = false) and as the CUDA one, each time: parse_args, validate_config, print_config (to
// /dev/null) and config_from_depth on -e (dN, gpt2-*, L8:C512:NH8[:T256][:V50257] shapes), as
// train_main and run_start_resolve do. Every input must parse or fail with one error line (die).
// Inputs with an argument "-h" or "--help" are skipped: parse_args prints the usage and exits 0
// there, by design.
#include <cstring>

#include "dev/fuzz/fuzz_common.h"
#include "llmc/train/cli.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (!freopen("/dev/null", "w", stdout)) fuzz_fail("cannot send stdout to /dev/null");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args = {"train_gpt2"};
    std::string cur;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == 0) { args.push_back(cur); cur.clear(); }
        else cur.push_back((char)data[i]);
    }
    if (size) args.push_back(cur);
    for (const std::string& a : args) {
        if (a == "-h" || a == "--help") return 0;
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    for (bool cuda : {false, true}) {
        try {
            TrainConfig cfg;
            parse_args((int)args.size(), argv.data(), &cfg, cuda);
            validate_config(cfg);
            print_config(cfg, cuda);
            GPT2Config mc;
            config_from_depth(cfg.init.c_str(), &mc);
        } catch (const DieError& e) {
            if (e.message.empty()) fuzz_fail("empty error message");
        }
    }
    return 0;
}
