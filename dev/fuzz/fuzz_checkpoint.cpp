// Fuzz harness: the model checkpoint reader (llmc/io/checkpoint.h), as the trainer uses it for
// `-e FILE` and for the model file of a resume. The input is the whole file.
//   1. checkpoint_header_problem: the resume scan's check (returns the problem, never dies)
//   2. checkpoint_read_config: the header alone (run_start_resolve)
//   3. checkpoint_load_params into a model of that shape (run_start_params)
// Every input must load, or fail with one error line naming the file; the reader must agree with
// the resume scan, and never size memory beyond what the file holds.
#include "dev/fuzz/fuzz_common.h"
#include "llmc/io/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = fuzz_write("model.bin", data, size);

    std::string problem;
    {
        FilePtr f(fopen(path.c_str(), "rb"));
        if (!f) fuzz_fail("cannot reopen %s", path.c_str());
        GPT2Config c;
        int version = 0;
        problem = checkpoint_header_problem(f.get(), path.c_str(), &c, &version);
        if (!problem.empty()) fuzz_check_error(problem, {path});
    }

    try {
        const GPT2Config c = checkpoint_read_config(path.c_str());
        if (!problem.empty()) fuzz_fail("checkpoint_read_config accepted a file the resume scan refuses: %s", problem.c_str());
        size_t sizes[NUM_PARAMETER_TENSORS];
        fill_param_sizes(sizes, c);
        const size_t n = count_params(sizes);
        if (n > size) fuzz_fail("header of a %zu-byte file sizes %zu parameters", size, n);
        std::vector<float> params(n);
        checkpoint_load_params(params.data(), c, path.c_str());
    } catch (const DieError& e) {
        if (problem.empty()) fuzz_fail("the resume scan accepted a file the reader refuses: %s", e.message.c_str());
        fuzz_check_error(e.message, {path});
    }
    return 0;
}
