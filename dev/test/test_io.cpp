// Host-side pieces both trainers share: dataloader (order, shuffling, resume position, 64-bit
// offsets), the Mersenne Twister, checkpoint and state round trips, lr schedules, init determinism.
#include "../../llmc/train/cli.h"
#include "../../llmc/io/dataloader.h"
#include "../../llmc/model/model.h"
#include "../../llmc/model/model_api.h"
#include "../../llmc/train/outlier.h"
#include "../../llmc/rand.h"
#include "../../llmc/train/run.h"
#include "../../llmc/train/schedule.h"
#include "../../llmc/io/state.h"
#include "../../llmc/io/half.h"
#include "check.h"

#include <fcntl.h>
#include <random>
#include <set>
#include <unistd.h>

static std::string g_dir;

// Shard whose token i is (base + i) % modulo.
static std::string write_shard(const char* name, int64_t ntok, int base, int modulo) {
    std::string path = g_dir + "/" + name;
    FilePtr f(fopenCheck(path.c_str(), "wb"));
    int32_t h[HEADER_INTS] = {SHARD_MAGIC, SHARD_VERSION, (int32_t)ntok};
    fwriteCheck(h, 4, HEADER_INTS, f.get(), path.c_str());
    std::vector<uint16_t> toks(ntok);
    for (int64_t i = 0; i < ntok; i++) toks[i] = (uint16_t)((base + i) % modulo);
    fwriteCheck(toks.data(), 2, ntok, f.get(), path.c_str());
    return path;
}

static void test_dataloader() {
    const int B = 2, T = 8;
    write_shard("dl_train_000000.bin", 16 * 10 + 1, 0, 50000);      // 10 samples
    write_shard("dl_train_000001.bin", 16 * 6 + 5, 20000, 50000);   // 6 samples, ragged tail
    std::string pattern = g_dir + "/dl_train_*.bin";
    DataLoader dl;
    dataloader_init(&dl, pattern.c_str(), B, T, 0, 1, false, 42, GPT2_VOCAB);
    check("dl_glob_two_shards", dl.files.size() == 2, "found %zu", dl.files.size());
    // sequential: sample k of shard 0 starts at token k*B*T; targets are inputs shifted by one
    bool seq_ok = true;
    for (int k = 0; k < 10; k++) {
        dataloader_next_batch(&dl);
        seq_ok &= dl.inputs[0] == k * B * T && dl.targets[B * T - 1] == (k + 1) * B * T;
    }
    dataloader_next_batch(&dl);  // first sample of shard 1
    seq_ok &= dl.inputs[0] == 20000;
    check("dl_sequential_order", seq_ok, "samples in file order, then the next shard");

    // shuffled: each epoch visits all 16 samples exactly once, in a different order per epoch
    DataLoader sh;
    dataloader_init(&sh, pattern.c_str(), B, T, 0, 1, true, 42, GPT2_VOCAB);
    std::vector<int> epoch0, epoch1;
    for (int i = 0; i < 16; i++) { dataloader_next_batch(&sh); epoch0.push_back(sh.inputs[0]); }
    for (int i = 0; i < 16; i++) { dataloader_next_batch(&sh); epoch1.push_back(sh.inputs[0]); }
    std::set<int> s0(epoch0.begin(), epoch0.end()), s1(epoch1.begin(), epoch1.end());
    check("dl_shuffle_covers_epoch", s0.size() == 16 && s0 == s1, "%zu distinct samples per epoch", s0.size());
    check("dl_shuffle_reorders", epoch0 != epoch1, "epoch 0 and 1 orders differ");
    std::vector<int> sorted0 = epoch0;
    std::sort(sorted0.begin(), sorted0.end());
    check("dl_shuffle_not_identity", sorted0 != epoch0, "order is not the file order");

    // resume: a fresh loader restored to a saved position yields the same next batches
    DataLoader a, b;
    dataloader_init(&a, pattern.c_str(), B, T, 0, 1, true, 7, GPT2_VOCAB);
    for (int i = 0; i < 13; i++) dataloader_next_batch(&a);
    DataLoaderPos pos = a.pos;
    dataloader_init(&b, pattern.c_str(), B, T, 0, 1, true, 7, GPT2_VOCAB);
    dataloader_restore(&b, pos);
    bool same = true;
    for (int i = 0; i < 25; i++) {
        dataloader_next_batch(&a);
        dataloader_next_batch(&b);
        same &= a.inputs == b.inputs && a.targets == b.targets;
    }
    check("dl_restore_exact", same, "25 batches after restoring position (epoch %lld shard %lld sample %lld)",
          (long long)pos.epoch, (long long)pos.shard_pos, (long long)pos.sample_pos);

    // two processes split the samples of a shard between them without overlap
    DataLoader r0, r1;
    dataloader_init(&r0, pattern.c_str(), B, T, 0, 2, false, 1, GPT2_VOCAB);
    dataloader_init(&r1, pattern.c_str(), B, T, 1, 2, false, 1, GPT2_VOCAB);
    std::set<int> seen;
    for (int i = 0; i < 5; i++) {
        dataloader_next_batch(&r0); seen.insert(r0.inputs[0]);
        dataloader_next_batch(&r1); seen.insert(r1.inputs[0]);
    }
    check("dl_two_ranks_disjoint", seen.size() == 10, "%zu distinct samples from 10 reads", seen.size());
}

// A sparse shard over 2 GiB: the sample near the end must be read from the right 64-bit offset.
static void test_dataloader_large() {
    const int B = 4, T = 64, BT = B * T;
    const int64_t ntok = (int64_t)1300 * 1000 * 1000;  // 2.6 GB of tokens, almost all holes (zeros)
    std::string path = g_dir + "/big_train_000000.bin";
    int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    int32_t h[HEADER_INTS] = {SHARD_MAGIC, SHARD_VERSION, (int32_t)ntok};
    bool ok = fd >= 0 && write(fd, h, sizeof h) == (ssize_t)sizeof h && ftruncate(fd, HEADER_BYTES + 2 * ntok) == 0;
    const int64_t sample = (ntok - 1) / BT - 3;  // a sample whose offset is far past 2^31
    std::vector<uint16_t> marker(BT + 1);
    for (int i = 0; i <= BT; i++) marker[i] = (uint16_t)(1000 + i);
    ok = ok && pwrite(fd, marker.data(), marker.size() * 2, HEADER_BYTES + 2 * sample * BT) == (ssize_t)(marker.size() * 2);
    if (fd >= 0) close(fd);
    if (!ok) {
        check("dl_offset_past_2GiB", false, "could not create the sparse shard %s", path.c_str());
        return;
    }
    DataLoader dl;
    dataloader_init(&dl, path.c_str(), B, T, 0, 1, false, 1, GPT2_VOCAB);
    DataLoaderPos pos;
    pos.sample_pos = sample;
    dataloader_restore(&dl, pos);
    dataloader_next_batch(&dl);
    check("dl_offset_past_2GiB", dl.inputs[0] == 1000 && dl.targets[BT - 1] == 1000 + BT,
          "sample %lld at byte %lld: first input %d", (long long)sample, (long long)(HEADER_BYTES + 2 * sample * BT), dl.inputs[0]);
    remove(path.c_str());
}

static void test_rng() {
    Mt19937 ours(5489u);
    std::mt19937 ref(5489u);
    bool same = true;
    for (int i = 0; i < 5000; i++) same &= ours.next_u32() == ref();
    check("mt19937_matches_std", same, "5000 outputs, seed 5489");
    Mt19937 a(42);
    for (int i = 0; i < 1000; i++) a.next_u32();
    a.normal_f64(0, 1);  // leaves a cached Box-Muller sample in the state
    Mt19937 b(0);
    b.set_state(a.get_state());
    bool restored = true;
    for (int i = 0; i < 1000; i++) restored &= a.normal_f64(0, 1) == b.normal_f64(0, 1);
    check("mt19937_state_roundtrip", restored, "1000 normals after set_state");
}

static void test_checkpoint_roundtrip() {
    GPT2Config c;
    c.max_seq_len = 32; c.vocab_size = 100; c.padded_vocab_size = 128; c.num_layers = 2; c.num_heads = 2; c.channels = 16;
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    size_t n = count_params(sizes);
    std::vector<float> p(n), q(n);
    gpt2_init_nanogpt(p.data(), c, 3);
    std::string path3 = g_dir + "/rt_v3.bin", path5 = g_dir + "/rt_v5.bin";
    checkpoint_write(path3, c, p.data(), n, MODEL_VERSION_FP32);
    checkpoint_write(path5, c, p.data(), n, MODEL_VERSION_BF16);
    for (int version : {MODEL_VERSION_FP32, MODEL_VERSION_BF16}) {
        const std::string& path = version == MODEL_VERSION_FP32 ? path3 : path5;
        FilePtr f(fopenCheck(path.c_str(), "rb"));
        int got_version = 0;
        GPT2Config r = checkpoint_read_header(f.get(), path.c_str(), &got_version);
        checkpoint_read_params(f.get(), path.c_str(), got_version, q.data(), n);
        bool header_ok = got_version == version && r.num_layers == 2 && r.channels == 16 && r.padded_vocab_size == 128 &&
                         r.vocab_size == 100 && r.max_seq_len == 32 && r.num_heads == 2;
        double max_rel = 0.0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] != 0.0f) max_rel = std::max(max_rel, (double)fabsf(q[i] - p[i]) / fabsf(p[i]));
            else if (q[i] != 0.0f) max_rel = 1.0;
        }
        // bf16 keeps 8 significant bits (7 stored): round-to-nearest error <= half an ulp = 2^-8 relative
        double bound = version == MODEL_VERSION_FP32 ? 0.0 : 1.0 / 256;
        char name[64];
        snprintf(name, sizeof name, "checkpoint_roundtrip_v%d", version);
        check(name, header_ok && max_rel <= bound, "header %s, max relative error %.2e (bound %.2e)", header_ok ? "ok" : "WRONG", max_rel, bound);
    }
    // the state file round trip
    std::vector<float> m(n), v(n), m2(n), v2(n);
    for (size_t i = 0; i < n; i++) { m[i] = (float)i * 1e-3f; v[i] = (float)(n - i); }
    TrainState s;
    s.step = 123;
    s.shuffle = 1;
    s.train_pos.epoch = 2; s.train_pos.shard_pos = 1; s.train_pos.sample_pos = 77;
    Mt19937 rng(99);
    rng.next_u32();
    s.sample_rng = rng.get_state();
    std::string spath = g_dir + "/rt_state.bin";
    state_write(spath, s, m.data(), v.data(), nullptr, n);
    TrainState r = state_read(spath, m2.data(), v2.data(), nullptr, n);
    Mt19937 rng2(0);
    rng2.set_state(r.sample_rng);
    bool ok = r.step == 123 && r.shuffle == 1 && r.train_pos.epoch == 2 && r.train_pos.shard_pos == 1 &&
              r.train_pos.sample_pos == 77 && m == m2 && v == v2 && rng2.next_u32() == rng.next_u32();
    check("state_roundtrip", ok, "step, shuffle flag, data position, m, v, sampling RNG");
    // a state with fp32 master weights (the CUDA trainer's bf16 runs): read into the caller's
    // params when it asks for them, skipped when it passes null
    std::vector<float> master(n), got(n, -1.0f);
    for (size_t i = 0; i < n; i++) master[i] = 0.5f - 1e-4f * (float)i;
    state_write(spath, s, m.data(), v.data(), master.data(), n);
    TrainState r2 = state_read(spath, m2.data(), v2.data(), got.data(), n);
    TrainState r3 = state_read(spath, m2.data(), v2.data(), nullptr, n);
    check("state_master_weights", r2.master_weights == 1 && got == master && r3.step == 123 && m == m2 && v == v2,
          "master weights read back exactly; skipped when not asked for");
    FILE* tmp = fopen((spath + ".tmp").c_str(), "rb");
    check("atomic_write_leaves_no_tmp", tmp == nullptr, "no .tmp beside the state file");
    if (tmp) fclose(tmp);
}

// -e names and shapes (no allocation: the xl config is only parsed)
static void test_model_names() {
    struct Want { const char* desc; int L, C, NH, T, V, Vp; };
    const Want wants[] = {
        {"gpt2", 12, 768, 12, 1024, 50257, 50304}, {"gpt2-medium", 24, 1024, 16, 1024, 50257, 50304},
        {"gpt2-large", 36, 1280, 20, 1024, 50257, 50304}, {"gpt2-xl", 48, 1600, 25, 1024, 50257, 50304},
        {"d12", 12, 768, 12, 1024, 50257, 50304}, {"L8:C512:NH8", 8, 512, 8, 1024, 50257, 50304},
        {"L3:C96:NH3:T256:V1000", 3, 96, 3, 256, 1000, 1024}, {"L1:C4:NH1:V1", 1, 4, 1, 1024, 1, 128},
    };
    size_t ok = 0;
    for (const Want& w : wants) {
        GPT2Config c;
        if (config_from_depth(w.desc, &c) && c.num_layers == w.L && c.channels == w.C && c.num_heads == w.NH &&
            c.max_seq_len == w.T && c.vocab_size == w.V && c.padded_vocab_size == w.Vp) ok++;
        else fprintf(stderr, "model name %s parsed wrong\n", w.desc);
    }
    GPT2Config c;
    const bool path = !config_from_depth("model_00000010.bin", &c) && !config_from_depth("Large.bin", &c) && !config_from_depth("L2x.bin", &c);
    check("model_names_and_shapes", ok == sizeof wants / sizeof wants[0] && path,
          "%zu/%zu names and shapes give their config; file names are not taken for shapes", ok, sizeof wants / sizeof wants[0]);
}

static void test_schedules() {
    auto near = [](float a, float b) { return fabsf(a - b) <= 1e-6f * std::max(1.0f, fabsf(b)); };
    bool ok = true;
    ok &= near(lr_at_step("cosine", 0, 100, 10, 1.0f, 0.1f), 0.1f);      // warmup: lr*(step+1)/warmup
    ok &= near(lr_at_step("cosine", 9, 100, 10, 1.0f, 0.1f), 1.0f);
    ok &= near(lr_at_step("cosine", 10, 100, 10, 1.0f, 0.1f), 1.0f);     // decay starts at lr
    ok &= near(lr_at_step("cosine", 55, 100, 10, 1.0f, 0.1f), 0.55f);    // halfway: midpoint of lr and lr_min
    ok &= near(lr_at_step("linear", 55, 100, 10, 1.0f, 0.1f), 0.55f);
    ok &= near(lr_at_step("linear", 100, 100, 10, 1.0f, 0.0f), 0.0f);
    ok &= near(lr_at_step("constant", 80, 100, 10, 0.5f, 0.1f), 0.5f);
    ok &= near(lr_at_step("wsd", 50, 100, 10, 1.0f, 0.0f), 1.0f);        // stable phase
    ok &= near(lr_at_step("wsd", 100, 100, 10, 1.0f, 0.0f), 0.0f);       // decayed to the end
    ok &= lr_at_step("wsd", 95, 100, 10, 1.0f, 0.0f) < 0.5f;
    check("lr_schedules", ok, "warmup, cosine, linear, constant, wsd at known points");
}

static void test_init_determinism() {
    GPT2Config c;
    c.max_seq_len = 64; c.vocab_size = 500; c.padded_vocab_size = 512; c.num_layers = 2; c.num_heads = 2; c.channels = 32;
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    size_t n = count_params(sizes);
    std::vector<float> a(n), b(n), d(n);
    gpt2_init_nanogpt(a.data(), c, 42);
    gpt2_init_nanogpt(b.data(), c, 42);
    gpt2_init_nanogpt(d.data(), c, 43);
    check("init_same_seed_identical", a == b, "seed 42 twice");
    check("init_other_seed_differs", a != d, "seed 42 vs 43");
    ParameterTensors p = point_parameters(a.data(), sizes);
    bool pad_zero = true;
    for (size_t i = (size_t)c.vocab_size * c.channels; i < sizes[WTE]; i++) pad_zero &= p.wte[i] == 0.0f;
    bool ln_ok = p.ln1w[0] == 1.0f && p.ln1b[0] == 0.0f && p.lnfw[c.channels - 1] == 1.0f && p.qkvb[5] == 0.0f;
    check("init_padding_and_layernorm", pad_zero && ln_ok, "wte padding rows 0, LayerNorm 1/0, biases 0");
    // empirical std of each drawn tensor vs the scheme's 0.02 and 0.02/sqrt(2L)
    auto stdev = [](const float* x, size_t k) {
        double s = 0.0, s2 = 0.0;
        for (size_t i = 0; i < k; i++) { s += x[i]; s2 += (double)x[i] * x[i]; }
        return sqrt(s2 / k - (s / k) * (s / k));
    };
    double s_fc = stdev(p.fcw, sizes[FCW]), s_proj = stdev(p.fcprojw, sizes[FCPROJW]);
    double want_proj = 0.02 / sqrt(4.0);
    check("init_std", fabs(s_fc - 0.02) < 0.02 * 0.02 && fabs(s_proj - want_proj) < want_proj * 0.02,
          "fcw std %.5f (0.02), fcprojw std %.5f (%.5f)", s_fc, s_proj, want_proj);
}

// Every scheme: each drawn tensor's empirical std within sampling error of the intended std,
// uniform draws inside their exact bounds (and reaching close to them), constants exact.
static void test_init_schemes() {
    GPT2Config c;
    c.max_seq_len = 64; c.vocab_size = 1000; c.padded_vocab_size = 1024; c.num_layers = 2; c.num_heads = 4; c.channels = 64;
    const char* names[] = {"nanogpt", "pytorch", "xavier-uniform", "xavier-normal", "kaiming-uniform", "kaiming-normal", "uniform:0.1", "normal:0.3",
                           "small-init", "neox", "megatron", "olmo-mitchell", "fan-in-trunc", "zero-out", "mup", "mup-zq"};
    for (int tied = 1; tied >= 0; tied--) {
        c.tied = tied;
        size_t sizes[NUM_PARAMETER_TENSORS];
        fill_param_sizes(sizes, c);
        std::vector<float> p(count_params(sizes));
        for (const char* name : names) {
            InitSpec scheme;
            const bool zq = !strcmp(name, "mup-zq");  // -init mup -mup-zero-q 1 (base 256: r = 4 at C = 64)
            parse_init_spec(zq ? "mup" : name, false, &scheme);
            scheme.zero_query = zq;
            c.mup_base = scheme.kind == InitKind::Mup ? 256 : 0;
            gpt2_init(p.data(), c, scheme, InitSpec{}, 11);
            float want[NUM_PARAMETER_TENSORS];
            intended_stds(want, c, scheme, InitSpec{});
            size_t off = 0;
            bool ok = true;
            char detail[256] = "";
            for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) {
                const size_t n = (k == WTE || k == LM_HEAD) && sizes[k] ? (size_t)c.vocab_size * c.channels : sizes[k];
                const float* x = p.data() + off;
                off += sizes[k];
                if (n == 0) continue;
                double s1 = 0, s2 = 0;
                float lo = x[0], hi = x[0];
                for (size_t i = 0; i < n; i++) { s1 += x[i]; s2 += (double)x[i] * x[i]; lo = std::min(lo, x[i]); hi = std::max(hi, x[i]); }
                const double sd = sqrt(std::max(0.0, s2 / n - (s1 / n) * (s1 / n)));
                if (want[k] < 0) {  // constant: LayerNorm 1/0, zero biases
                    const float v = (k == LN1W || k == LN2W || k == LNFW) ? 1.0f : 0.0f;
                    if (lo != v || hi != v) { ok = false; snprintf(detail, sizeof detail, "%s not constant %g", PARAM_TABLE[k].name, v); }
                    continue;
                }
                // std of a sample std is ~ sigma * sqrt(1/(2n)) (normal) and smaller for uniform: allow 6 of them
                const double tol = 6.0 * want[k] / sqrt(2.0 * n);
                if (fabs(sd - want[k]) > tol) {
                    ok = false;
                    snprintf(detail, sizeof detail, "%s std %.6f vs intended %.6f (tol %.1e)", PARAM_TABLE[k].name, sd, want[k], tol);
                }
                // the mean: within 6 standard errors of 0
                if (fabs(s1 / n) > 6.0 * want[k] / sqrt((double)n)) {
                    ok = false;
                    snprintf(detail, sizeof detail, "%s mean %.2e vs 0 (std %.6f, n %zu)", PARAM_TABLE[k].name, s1 / n, want[k], n);
                }
                const Dist d = k == WTE || k == WPE ? embedding_dist(scheme, InitSpec{}, c.channels)
                               : Dist{scheme.kind == InitKind::PyTorch || scheme.kind == InitKind::XavierUniform ||
                                          scheme.kind == InitKind::KaimingUniform || scheme.kind == InitKind::Uniform,
                                      0.0};
                // truncated normals: nothing beyond the cut (of layer 0's scale, the largest), and
                // for large n values close to it (P(|x| < 0.97 cut) per draw is < 0.9995 at cuts 2, 3)
                const bool stacked = PARAM_TABLE[k].shape[0] == Dim::L;
                const Dist t = k == WTE || k == WPE ? d
                               : linear_dist(scheme, {k == FCPROJW ? 4 * (size_t)c.channels : (size_t)c.channels, 1,
                                                      k == ATTPROJW || k == FCPROJW, 0, c.num_layers, (size_t)c.channels, false,
                                                      c.mup_base});
                if (t.cut > 0) {
                    const double edge = t.cut * t.scale;
                    const bool reach = n < 20000 || stacked || (hi >= 0.97 * edge && lo <= -0.97 * edge);
                    if (lo < -edge * (1 + 1e-6) || hi > edge * (1 + 1e-6) || !reach) {
                        ok = false;
                        snprintf(detail, sizeof detail, "%s range [%g, %g] vs the cut +-%g", PARAM_TABLE[k].name, lo, hi, edge);
                    }
                }
                if (d.uniform && k != 0 && k != 1) {
                    const float b = want[k] * sqrtf(3.0f);
                    // inside the bounds always; reaching past 0.99 b is near-certain only for large n
                    // (P(miss) = 0.995^n per side)
                    const bool reach = n < 10000 || (hi >= 0.99f * b && lo <= -0.99f * b);
                    if (lo < -b * (1 + 1e-6f) || hi > b * (1 + 1e-6f) || !reach) {
                        ok = false;
                        snprintf(detail, sizeof detail, "%s range [%g, %g] vs bound %g", PARAM_TABLE[k].name, lo, hi, b);
                    }
                }
            }
            if (zq) {  // the query rows (the first C of each layer's 3C) are exactly 0, the key rows are not
                const size_t C = c.channels;
                const float* q = p.data() + sizes[WTE] + sizes[WPE] + sizes[LN1W] + sizes[LN1B];
                for (size_t l = 0; l < (size_t)c.num_layers; l++) {
                    for (size_t i = 0; i < C * C; i++) ok = ok && q[l * 3 * C * C + i] == 0.0f;
                    ok = ok && q[l * 3 * C * C + C * C] != 0.0f;
                }
                if (!ok && !detail[0]) snprintf(detail, sizeof detail, "query rows not all 0 (or key rows 0)");
            }
            char label[96];
            snprintf(label, sizeof label, "init_scheme_stats_%s_%s", name, tied ? "tied" : "untied");
            check(label, ok, "%s", ok ? "every tensor's mean and std within sampling error; uniform bounds and truncation cuts exact; constants exact" : detail);
        }
    }
    // the residual projections get nanoGPT's 1/sqrt(2L) scaling, the others not
    float want[NUM_PARAMETER_TENSORS];
    c.tied = true;
    c.mup_base = 0;
    intended_stds(want, c, InitSpec{}, InitSpec{});
    check("init_nanogpt_residual_scaling", fabsf(want[ATTPROJW] - 0.01f) < 1e-7f && fabsf(want[FCPROJW] - 0.01f) < 1e-7f && want[QKVW] == 0.02f,
          "attprojw %.6f fcprojw %.6f qkvw %.6f (L=2: 0.02/sqrt(4) = 0.01)", want[ATTPROJW], want[FCPROJW], want[QKVW]);
    // muP at C = 64 with the default base 256 (r = 4): hidden stds 0.02 sqrt(r), residual ones also
    // / sqrt(2L), embeddings and the readout 0.02; the forward and lr rules of model.h
    {
        InitSpec mup;
        parse_init_spec("mup", false, &mup);
        c.tied = false;
        c.mup_base = 256;
        intended_stds(want, c, mup, InitSpec{});
        const bool stds = fabsf(want[QKVW] - 0.04f) < 1e-7f && fabsf(want[FCW] - 0.04f) < 1e-7f &&
                          fabsf(want[ATTPROJW] - 0.02f) < 1e-7f && fabsf(want[FCPROJW] - 0.02f) < 1e-7f &&
                          want[WTE] == 0.02f && want[WPE] == 0.02f && want[LM_HEAD] == 0.02f;
        int hidden = 0;
        for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) hidden += lr_multiplier(k, c) == 4.0f;
        bool rest_one = true;
        for (int k = 0; k < NUM_PARAMETER_TENSORS; k++) rest_one = rest_one && (mup_hidden_tensor(k) || lr_multiplier(k, c) == 1.0f);
        const bool fwd = logit_multiplier(c) == 4.0f && attention_scale(c) == 1.0f / 16.0f;  // hs = 16
        GPT2Config sp = c;
        sp.mup_base = 0;
        const bool sp_ok = logit_multiplier(sp) == 1.0f && attention_scale(sp) == 0.25f && lr_multiplier(QKVW, sp) == 1.0f;
        check("init_mup_rules", stds && hidden == 4 && rest_one && fwd && sp_ok,
              "stds qkvw %.4f attprojw %.4f lm_head %.4f; %d tensors at lr x4 (want 4); logits x%g, scores x%g; SP all 1 and 1/sqrt(hs): %d",
              want[QKVW], want[ATTPROJW], want[LM_HEAD], hidden, (double)logit_multiplier(c), (double)attention_scale(c), sp_ok);
        c.mup_base = 0;
        c.tied = true;
    }
    InitSpec bad;
    check("init_spec_rejects", !parse_init_spec("xavier", false, &bad) && !parse_init_spec("uniform:-1", false, &bad) &&
                                   !parse_init_spec("normal:abc", false, &bad) && !parse_init_spec("file:x", false, &bad) &&
                                   !parse_init_spec("nanogpt", true, &bad) && parse_init_spec("file:x.npy", true, &bad),
          "malformed names and values rejected; file: only for embeddings");
}

// -init-emb file:PATH from .npy (version 1 header) and raw float32, (V, C) and (Vp, C).
static void test_embedding_file() {
    GPT2Config c;
    c.max_seq_len = 16; c.vocab_size = 100; c.padded_vocab_size = 128; c.num_layers = 1; c.num_heads = 2; c.channels = 8;
    const size_t V = 100, C = 8;
    std::vector<float> emb(V * C);
    for (size_t i = 0; i < emb.size(); i++) emb[i] = 0.001f * (float)i - 0.3f;
    std::string raw = g_dir + "/emb.raw", npy = g_dir + "/emb.npy";
    {
        FilePtr f(fopenCheck(raw.c_str(), "wb"));
        fwriteCheck(emb.data(), 4, emb.size(), f.get(), raw.c_str());
    }
    {
        std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100, 8), }";
        while ((10 + header.size() + 1) % 64 != 0) header += ' ';
        header += '\n';
        FilePtr f(fopenCheck(npy.c_str(), "wb"));
        const unsigned char pre[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
        const uint16_t len = (uint16_t)header.size();
        fwriteCheck(pre, 1, 8, f.get(), npy.c_str());
        fwriteCheck(&len, 2, 1, f.get(), npy.c_str());
        fwriteCheck(header.data(), 1, header.size(), f.get(), npy.c_str());
        fwriteCheck(emb.data(), 4, emb.size(), f.get(), npy.c_str());
    }
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    std::vector<float> a(count_params(sizes)), b(count_params(sizes)), d(count_params(sizes));
    InitSpec emb_raw, emb_npy;
    parse_init_spec(("file:" + raw).c_str(), true, &emb_raw);
    parse_init_spec(("file:" + npy).c_str(), true, &emb_npy);
    gpt2_init(a.data(), c, InitSpec{}, emb_raw, 5);
    gpt2_init(b.data(), c, InitSpec{}, emb_npy, 5);
    gpt2_init(d.data(), c, InitSpec{}, InitSpec{}, 5);
    bool wte_ok = !memcmp(a.data(), emb.data(), V * C * 4) && a == b;
    for (size_t i = V * C; i < sizes[WTE]; i++) wte_ok &= a[i] == 0.0f;  // padding rows stay zero
    check("init_emb_file_raw_and_npy", wte_ok, "wte rows equal the file's (V, C) matrix, padding rows zero, .npy == raw");
    InitSpec u;
    parse_init_spec("uniform:0.5", true, &u);
    gpt2_init(a.data(), c, InitSpec{}, u, 5);
    float lo = 0, hi = 0;
    for (size_t i = 0; i < V * C; i++) { lo = std::min(lo, a[i]); hi = std::max(hi, a[i]); }
    check("init_emb_uniform", lo >= -0.5f && hi < 0.5f && hi > 0.45f && lo < -0.45f, "wte in [%g, %g] for uniform:0.5", lo, hi);
}

// An untied checkpoint round trips with header[8] = 1 and the extra (Vp, C) tensor.
static void test_untied_checkpoint() {
    GPT2Config c;
    c.max_seq_len = 16; c.vocab_size = 100; c.padded_vocab_size = 128; c.num_layers = 1; c.num_heads = 2; c.channels = 8; c.tied = false;
    size_t sizes[NUM_PARAMETER_TENSORS];
    fill_param_sizes(sizes, c);
    const size_t n = count_params(sizes);
    std::vector<float> p(n), q(n);
    gpt2_init_nanogpt(p.data(), c, 9);
    std::string path = g_dir + "/untied.bin";
    checkpoint_write(path, c, p.data(), n, MODEL_VERSION_FP32);
    FilePtr f(fopenCheck(path.c_str(), "rb"));
    int version;
    GPT2Config r = checkpoint_read_header(f.get(), path.c_str(), &version);
    checkpoint_read_params(f.get(), path.c_str(), version, q.data(), n);
    ParameterTensors view = point_parameters(q.data(), sizes);
    check("untied_checkpoint_roundtrip", !r.tied && p == q && sizes[LM_HEAD] == 128 * 8 && view.lm_head != view.wte &&
          file_size(f.get(), path.c_str()) == (int64_t)(HEADER_BYTES + 4 * n),
          "header[8] = 1, lm_head (Vp, C) after lnfb, values exact");
}

// -sl/-sg z-scores: NaN until the window is full, then (x - mean) / std of the previous 128.
static void test_outlier_detector() {
    OutlierDetector d;
    outlier_init(&d);
    Mt19937 rng(5);
    std::vector<double> xs;
    bool nan_first = true, z_ok = true;
    for (int i = 0; i < 400; i++) {
        const double x = 3.0 + rng.normal_f64(0.0, 0.5) + (i == 300 ? 10.0 : 0.0);
        const double z = outlier_update(&d, x);
        if (i < OutlierDetector::WINDOW) {
            nan_first &= std::isnan(z);
        } else {
            double m = 0, q = 0;
            for (int j = i - OutlierDetector::WINDOW; j < i; j++) m += xs[j];
            m /= OutlierDetector::WINDOW;
            for (int j = i - OutlierDetector::WINDOW; j < i; j++) q += (xs[j] - m) * (xs[j] - m);
            const double want = (x - m) / sqrt(q / OutlierDetector::WINDOW);
            z_ok &= fabs(z - want) < 1e-6 * (1 + fabs(want));
            if (i == 300) z_ok &= z > 10.0;  // the planted outlier stands out
        }
        xs.push_back(x);
    }
    check("outlier_zscores", nan_first && z_ok, "NaN for the first 128, then exact windowed z-scores; planted outlier z > 10");
}

// `test_io order GLOB SHUFFLE B T P RANK BATCHES`: the batches one process reads, one line each:
// "epoch shard-file-index first-token-offset" (dev/llmc_order_ref.py prints the same for llm.c's
// algorithm; t_io.sh compares them).
static int run_order(char** argv) {
    DataLoader dl;
    dataloader_init(&dl, argv[2], atoi(argv[4]), atoi(argv[5]), atoi(argv[7]), atoi(argv[6]), atoi(argv[3]), 42, GPT2_VOCAB);
    const long batches = atol(argv[8]);
    const int64_t BT = (int64_t)dl.B * dl.T;
    for (long i = 0; i < batches; i++) {
        dataloader_next_batch(&dl);
        const int64_t k = dl.pos.sample_pos - 1;
        const int64_t sample = dl.sample_order[(size_t)(k * dl.num_processes + dl.rank)];
        printf("%lld %d %lld\n", (long long)dl.pos.epoch, dl.loaded_shard, (long long)(sample * BT));
    }
    return 0;
}

// fp16 and bf16 (llmc/io/half.h): every 16-bit pattern widens and narrows back to itself (NaNs stay
// NaN); the midpoint of two neighbours rounds to the even one, anything nearer to the nearer one;
// overflow goes to inf, below half the smallest subnormal to 0.
static void test_half_conversions() {
    int bad16 = 0, badb = 0, badr = 0, n_mid = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = fp16_to_float((uint16_t)h), g = bf16_to_float((uint16_t)h);
        const uint16_t back = float_to_fp16(f), backb = float_to_bf16(g);
        bad16 += std::isnan(f) ? !(((back >> 10) & 0x1f) == 0x1f && (back & 0x3ff)) : back != h;
        badb += std::isnan(g) ? !std::isnan(bf16_to_float(backb)) : backb != h;
    }
    for (uint32_t h = 0; h < 0x7bff; h++) {  // every pair of finite positive fp16 neighbours
        const double lo = fp16_to_float((uint16_t)h), hi = fp16_to_float((uint16_t)(h + 1));
        const uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        badr += float_to_fp16((float)((lo + hi) / 2)) != even;
        badr += float_to_fp16((float)(lo + (hi - lo) * 0.3)) != h;
        badr += float_to_fp16((float)-(lo + (hi - lo) * 0.7)) != (uint16_t)(0x8000 | (h + 1));
        n_mid++;
    }
    const bool edges = float_to_fp16(65504.0f) == 0x7bff && float_to_fp16(65520.0f) == 0x7c00 &&
                       float_to_fp16(1e-8f) == 0 && fp16_to_float(1) == std::ldexp(1.0f, -24) && float_to_bf16(1.0f) == 0x3f80;
    check("half_conversions", bad16 == 0 && badb == 0 && badr == 0 && n_mid == 0x7bff && edges,
          "65536 fp16 and bf16 patterns round-trip (%d, %d bad), %d fp16 neighbour pairs round to nearest even (%d bad), edges %s",
          bad16, badb, n_mid, badr, edges ? "ok" : "WRONG");
}

int main(int argc, char** argv) {
    if (argc == 9 && std::string(argv[1]) == "order") return run_order(argv);
    g_dir = argc > 1 ? argv[1] : "dev/test/tmp/io";
    mkdir(g_dir.c_str(), 0755);
    test_rng();
    test_dataloader();
    test_dataloader_large();
    test_checkpoint_roundtrip();
    test_schedules();
    test_model_names();
    test_init_determinism();
    test_init_schemes();
    test_embedding_file();
    test_untied_checkpoint();
    test_outlier_detector();
    test_half_conversions();
    return test_exit_code();
}
